"""Denoising: `noise` (noise specs and their tf.data transformations) and `tiling` (a fixed-size model run
over larger images, tile by tile)."""
