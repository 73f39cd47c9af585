"""Recipes: one short story per use of an autoencoder, composed from the `keras_ae` library.

Installed as `keras_ae.recipes`; `keras-ae recipe --list` lists them.
"""
