"""Defaults shared by the library and the CLI, importable without TensorFlow."""

DEFAULT_DATASET = "mnist-5k"
