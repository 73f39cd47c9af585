"""Denoising: `noise` (noise specs and their tf.data transformations), `classical` (the baselines a denoiser
is measured against), `blind_spot` (training without clean images) and `tiling` (a fixed-size model run
over larger images, tile by tile)."""
