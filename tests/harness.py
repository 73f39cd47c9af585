"""The checks every builder and every custom layer passes, written once (in the spirit of Keras' own
`testing.TestCase.run_layer_test` and pythae's per-model test classes).

A test module subclasses `ModelChecks` once per builder (or `LayerChecks` once per layer) and says only how
to build it; pytest collects the inherited tests under the subclass's name:

    class TestConvAutoencoder(ModelChecks):
        input_shape = (8, 8, 1)

        def build(self, input_shape, **options):
            return conv_autoencoder(input_shape, filters=(4,), bottleneck=3, **options)

Every class goes through:

- build on a tiny input (and on each of `shapes`): images come back in their own shape, codes have
  `code_size` values, no `Lambda` layer (it would not load in safe mode);
- a `.keras` save and `keras.saving.load_model(..., safe_mode=True)` with bit-identical outputs, for the
  model and for each of `variants` (other builder options), and `keras_ae.load` for autoencoders;
- `keras_ae.export.export`: every SavedModel signature answers like Keras (batches of 1 and of `batch`), and
  every TFLite file in `quantize` answers like Keras in LiteRT alone: one fresh process per class that never
  imports TensorFlow, as on a phone;
- mixed precision: under `mixed_bfloat16` and `mixed_float16` the model builds, keeps float32 weights, takes
  a training step with finite gradients for every weight and answers with finite values, in float32 where
  `float32_output` says the model promises it.

An autoencoder (`keras_ae.models.Autoencoder`) is checked through its three signatures (reconstruct, encode,
decode); any other Keras model through one image -> image signature, `denoise`. `AnySizeImageChecks` is for
models that take any height and width (exported by `keras_ae.export.image_model`, called at a size their
multiple does not divide); `LayerChecks` puts one custom layer in the smallest model that uses it, and also
checks its config round trip and its registration under `keras_ae>`.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import run_python  # noqa: E402

MIXED_POLICIES = ("mixed_bfloat16", "mixed_float16")


def is_autoencoder(model) -> bool:
    from keras_ae.models import Autoencoder

    return isinstance(model, Autoencoder)


def keras_model(model) -> keras.Model:
    """The Keras model that maps inputs to outputs: an autoencoder's composition, or the model itself."""
    return model.autoencoder if is_autoencoder(model) else model


def signatures(model) -> dict:
    """{signature: (input name, output name, Keras model)} as `keras_ae.export.export` writes them."""
    if is_autoencoder(model):
        return {
            "reconstruct": ("images", "images", model.autoencoder),
            "encode": ("images", "codes", model.encoder),
            "decode": ("codes", "images", model.decoder),
        }
    output = "images" if model.output_shape[1:] == model.input_shape[1:] else "outputs"
    return {"denoise": ("images", output, model)}


def signature_inputs(model, x: np.ndarray) -> dict:
    """The input each signature takes for the examples `x` (codes from the encoder for `decode`)."""
    feeds = {}
    for name, (key, _, _) in signatures(model).items():
        feeds[name] = model.encoder(x, training=False).numpy() if key == "codes" else x
    return feeds


def keras_answers(model, x: np.ndarray) -> dict:
    feeds = signature_inputs(model, x)
    return {name: np.asarray(part(feeds[name], training=False)) for name, (_, _, part) in signatures(model).items()}


def layer_names(model) -> set[str]:
    parts = (model.encoder, model.decoder) if is_autoencoder(model) else (model,)
    names = set()
    for part in parts:
        for layer in part._flatten_layers(include_self=False):
            names.add(type(layer).__name__)
    return names


class ModelChecks:
    """The shared checks. Subclasses set `build` and, where they differ from these defaults, the attributes."""

    input_shape: tuple = (8, 8, 1)  # the tiny input every check runs on
    shapes: tuple = ()  # more input shapes the build check tries (awkward sizes, colour)
    variants: tuple = ()  # more builder options ({...} each) the `.keras` round trip tries
    batch: int = 3
    quantize: tuple = ("float32",)  # TFLite files compared with Keras in LiteRT; () for none
    saved_model_tolerance: float = 1e-5
    tflite_tolerance: float = 1e-4
    float32_output: bool = False  # under a mixed policy the output is still float32 (set where promised)
    same_shape_output: bool = True  # image in, image of the same shape out
    mixed_policies: tuple = MIXED_POLICIES

    def build(self, input_shape, **options):
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------------------
    def inputs(self, count: int | None = None, shape=None, seed: int = 0) -> np.ndarray:
        shape = tuple(shape or self.input_shape)
        return np.random.default_rng(seed).random((count or self.batch, *shape), dtype=np.float32)

    def make(self, input_shape=None, **options):
        keras.utils.set_random_seed(0)
        return self.build(tuple(input_shape or self.input_shape), **options)

    # -- fixtures shared by a class -----------------------------------------------------------------------
    @pytest.fixture(scope="class")
    def model(self):
        return self.make()

    @pytest.fixture(scope="class")
    def exported(self, model, tmp_path_factory):
        """The model exported once for the class: a folder with `saved_model/` and `model_{mode}.tflite`."""
        out = tmp_path_factory.mktemp(type(self).__name__) / "export"
        self.export(model, out)
        return out

    # -- what a subclass may change about the export ------------------------------------------------------
    def export(self, model, out):
        """`keras_ae.export.export`: an autoencoder as itself, any other model as a `denoise` endpoint."""
        from keras_ae.export import export

        formats = ("saved_model", "tflite") if self.quantize else ("saved_model",)
        representative = self.inputs(16, shape=self.export_shape, seed=3) if "int8" in self.quantize else None
        common = {"formats": formats, "quantize": self.quantize or ("float32",), "representative_data": representative}
        if is_autoencoder(model):
            export(model, out, **common)
        else:
            export(None, out, endpoints={"denoise": model}, **common)

    @property
    def export_shape(self) -> tuple:
        """The input shape the exported signatures are called with."""
        return tuple(self.input_shape)

    def signatures(self, model) -> dict:
        return signatures(model)

    def signature_inputs(self, model, x) -> dict:
        return signature_inputs(model, x)

    def keras_answers(self, model, x) -> dict:
        """What each signature must answer for the examples `x`, computed with Keras."""
        return keras_answers(model, x)

    # -- the checks ---------------------------------------------------------------------------------------
    def test_builds_on_a_tiny_input(self, model):
        for shape in (self.input_shape, *self.shapes):
            built = model if shape == self.input_shape else self.make(shape)
            x = self.inputs(shape=shape)
            network = keras_model(built)
            y = network(x, training=False)
            declared = network.output_shape[1:]  # None where the model takes any size
            assert len(y.shape) == len(declared) + 1 and len(y) == len(x), shape
            assert all(d is None or d == s for d, s in zip(declared, y.shape[1:], strict=True)), shape
            if self.same_shape_output:
                assert tuple(y.shape) == (len(x), *shape), shape
            assert np.all(np.isfinite(np.asarray(y))), shape
            if is_autoencoder(built):
                codes = built.encoder(x, training=False)
                assert tuple(codes.shape) == (len(x), built.code_size), shape
                assert tuple(built.decoder(codes, training=False).shape) == (len(x), *shape), shape
                assert built.autoencoder.get_layer("encoder") is built.encoder
                assert built.autoencoder.get_layer("decoder") is built.decoder
        assert "Lambda" not in layer_names(model)

    def test_keras_file_round_trip_in_safe_mode(self, model, tmp_path):
        from keras_ae import load

        x = self.inputs()
        for index, options in enumerate(({}, *self.variants)):
            built = model if not options else self.make(**options)
            path = tmp_path / f"model{index}.keras"
            keras_model(built).save(str(path))
            restored = keras.saving.load_model(str(path), safe_mode=True)
            expected = np.asarray(keras_model(built)(x, training=False))
            np.testing.assert_array_equal(np.asarray(restored(x, training=False)), expected, err_msg=str(options))
            assert "Lambda" not in layer_names(built), options
        if is_autoencoder(model):  # keras-ae's own loader finds both halves again
            again = load(tmp_path / "model0.keras")
            assert again.code_size == model.code_size
            for name, (_, _, part) in signatures(again).items():
                feed = signature_inputs(model, x)[name]
                np.testing.assert_array_equal(part(feed, training=False), keras_answers(model, x)[name], err_msg=name)

    def test_saved_model_signatures_answer_like_keras(self, model, exported):
        import tensorflow as tf

        loaded = tf.saved_model.load(str(exported / "saved_model"))
        assert set(loaded.signatures) == {*self.signatures(model), "serving_default"}
        for count in (1, self.batch):
            x = self.inputs(count, shape=self.export_shape, seed=1)
            expected = self.keras_answers(model, x)
            feeds = self.signature_inputs(model, x)
            for name, (key, output, _) in self.signatures(model).items():
                answer = loaded.signatures[name](**{key: tf.constant(feeds[name])})
                assert set(answer) == {output}, (name, set(answer))
                np.testing.assert_allclose(
                    answer[output].numpy(), expected[name], atol=self.saved_model_tolerance, err_msg=f"{name}/{count}"
                )

    def test_tflite_files_answer_like_keras_in_litert_alone(self, model, exported, tmp_path):
        """Every signature of every TFLite file, one example at a time (a resized input where the file's shape
        differs), in one fresh process that never imports TensorFlow."""
        if not self.quantize:
            pytest.skip("this model has no TFLite export")
        x = self.inputs(shape=self.export_shape, seed=2)
        feeds, expected = self.signature_inputs(model, x), self.keras_answers(model, x)
        calls = {}
        for name, (key, output, _) in self.signatures(model).items():
            np.save(tmp_path / f"in_{name}.npy", feeds[name])
            calls[name] = [key, output]
        script = f"""
            import json, sys
            import numpy as np
            from ai_edge_litert.interpreter import Interpreter

            def run(interpreter, name, key, output, x):
                details = interpreter.get_signature_runner(name).get_input_details()[key]
                if tuple(details["shape"]) != x.shape:
                    interpreter.resize_tensor_input(details["index"], x.shape, strict=False)
                    interpreter.allocate_tensors()
                return interpreter.get_signature_runner(name)(**{{key: x}})[output]

            calls, report = {json.dumps(calls)}, {{}}
            for mode in {list(self.quantize)!r}:
                interpreter = Interpreter(model_path={str(exported)!r} + f"/model_{{mode}}.tflite", num_threads=1)
                report[mode] = sorted(interpreter.get_signature_list())
                for name, (key, output) in calls.items():
                    x = np.load(f"in_{{name}}.npy")
                    y = np.concatenate([run(interpreter, name, key, output, x[i : i + 1]) for i in range(len(x))])
                    np.save(f"{{mode}}_{{name}}.npy", y.astype(np.float32))
            assert "tensorflow" not in sys.modules, "LiteRT pulled in TensorFlow"
            print(json.dumps(report))
        """
        report = json.loads(run_python(script, cwd=tmp_path).strip().splitlines()[-1])
        tolerance = {"float32": self.tflite_tolerance, "float16": 1e-2}
        for mode in self.quantize:
            assert report[mode] == sorted(self.signatures(model)), mode
            for name in self.signatures(model):
                answer = np.load(tmp_path / f"{mode}_{name}.npy")
                assert answer.shape == expected[name].shape, (mode, name)
                if mode in tolerance:
                    np.testing.assert_allclose(answer, expected[name], atol=tolerance[mode], err_msg=f"{mode}/{name}")

    @pytest.mark.parametrize("policy", MIXED_POLICIES)
    def test_mixed_precision_builds_trains_and_answers(self, policy):
        """One eager training step and one inference."""
        import tensorflow as tf

        if policy not in self.mixed_policies:
            pytest.skip(f"{type(self).__name__} does not support {policy}")
        x = self.inputs()
        keras.mixed_precision.set_global_policy(policy)
        try:
            network = keras_model(self.make())
            assert {w.dtype for w in network.weights} == {"float32"}, "weights stay float32 under a mixed policy"
            target = np.asarray(network(x, training=False)).astype(np.float32) * 0.5
            optimizer = keras.optimizers.Adam(1e-3)  # unscaled: Keras' dynamic loss scale may overflow at first
            with tf.GradientTape() as tape:
                y = network(x, training=True)
                loss = keras.ops.mean(keras.ops.square(target - keras.ops.cast(y, "float32")))
                if network.losses:
                    loss += keras.ops.cast(keras.ops.sum(network.losses), "float32")
            gradients = tape.gradient(loss, network.trainable_variables)
            optimizer.apply_gradients(zip(gradients, network.trainable_variables, strict=True))
            y = np.asarray(network(x, training=False))
        finally:
            keras.mixed_precision.set_global_policy("float32")
        assert np.isfinite(float(loss)), float(loss)
        assert network.trainable_variables and all(g is not None for g in gradients), "no gradient reaches a weight"
        assert all(np.all(np.isfinite(np.asarray(g))) for g in gradients)
        assert y.shape == target.shape and np.all(np.isfinite(y.astype(np.float32)))
        if self.float32_output:
            assert y.dtype == np.float32, f"{policy}: the model answers in {y.dtype}"


class LayerChecks(ModelChecks):
    """The same checks for one custom layer, inside the smallest model that uses it.

    Subclasses set `make_layer()` (a fresh layer) and, for layers of several inputs, `wrap(inputs, layer)`.
    Beside the model checks, the layer's config survives `from_config` and a safe-mode
    `keras.saving.serialize_keras_object` / `deserialize_keras_object`, and the package registers it under
    `keras_ae>ClassName`.
    """

    float32_output: bool = False  # a lone layer computes in the policy's dtype, as Keras layers do
    same_shape_output: bool = False

    def make_layer(self):
        raise NotImplementedError

    def wrap(self, inputs, layer):
        """The layer on a Dense projection of the input (something to train in the mixed-precision step)."""
        return layer(keras.layers.Dense(inputs.shape[-1], name="before")(inputs))

    def build(self, input_shape, **options):
        inputs = keras.Input(shape=input_shape, name="image")
        return keras.Model(inputs, self.wrap(inputs, self.make_layer()), name="layer_check")

    def test_config_round_trip_and_registration(self):
        layer = self.make_layer()
        config = layer.get_config()
        again = type(layer).from_config(config)
        assert again.get_config() == config
        name = f"keras_ae>{type(layer).__name__}"
        assert keras.saving.get_registered_object(name) is type(layer), name
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer), safe_mode=True)
        assert type(restored) is type(layer) and restored.get_config() == config


class AnySizeImageChecks(ModelChecks):
    """The checks for a fully convolutional image model that takes any height and width (the photo denoiser):
    exported with `keras_ae.export.image_model`, whose `denoise` signature pads to the model's multiple, crops
    back and clips to [0, 1]; its answers are compared with `image_model.predict_any_size` at `export_shape`,
    a size the model's multiple does not divide."""

    quantize = ("float32",)

    def export(self, model, out):
        from keras_ae.export import image_model

        out.mkdir(parents=True)
        image_model.write_saved_model(model, str(out / "saved_model"))
        for mode in self.quantize:
            representative = list(self.inputs(8, shape=self.export_shape, seed=3)) if mode == "int8" else None
            image_model.write_tflite(model, str(out / f"model_{mode}.tflite"), mode, representative)

    def keras_answers(self, model, x) -> dict:
        from keras_ae.export import image_model

        return {"denoise": image_model.predict_any_size(model, x)}
