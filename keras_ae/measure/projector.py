"""Files for TensorBoard's Embedding Projector: the codes as a checkpointed variable, labels, a sprite.

Written by hand (the layout is documented in tensorboard's projector plugin) so that keras-ae does not need
the tensorboard package to produce them; point `tensorboard --logdir DIR` at the folder to browse the codes.
"""

from __future__ import annotations

import math
import os

import numpy as np

SPRITE_LIMIT_PX = 8192  # the projector refuses larger sprite images


def write_projector(log_dir: str, codes: np.ndarray, labels=None, images=None, class_names=None) -> None:
    import tensorflow as tf
    from PIL import Image

    os.makedirs(log_dir, exist_ok=True)
    checkpoint = tf.train.Checkpoint(embedding=tf.Variable(np.asarray(codes, np.float32)))
    checkpoint.save(os.path.join(log_dir, "embedding.ckpt"))
    lines = [
        "embeddings {",
        '  tensor_name: "embedding/.ATTRIBUTES/VARIABLE_VALUE"',
    ]
    if labels is not None:
        with open(os.path.join(log_dir, "metadata.tsv"), "w") as f:
            for label in labels:
                f.write(f"{class_names[label] if class_names else label}\n")
        lines.append('  metadata_path: "metadata.tsv"')
    if images is not None:
        images = np.asarray(images)
        height, width = images.shape[1:3]
        per_row = math.ceil(math.sqrt(len(images)))
        if per_row * max(height, width) <= SPRITE_LIMIT_PX:
            sprite = np.ones((per_row * height, per_row * width, images.shape[-1]), np.float32)
            for i, image in enumerate(images):
                r, c = divmod(i, per_row)
                sprite[r * height : (r + 1) * height, c * width : (c + 1) * width] = image
            pixels = (sprite.clip(0, 1) * 255).astype(np.uint8)
            Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
                os.path.join(log_dir, "sprite.png")
            )
            lines += [
                "  sprite {",
                '    image_path: "sprite.png"',
                f"    single_image_dim: {width}",
                f"    single_image_dim: {height}",
                "  }",
            ]
    lines.append("}")
    with open(os.path.join(log_dir, "projector_config.pbtxt"), "w") as f:
        f.write("\n".join(lines) + "\n")
