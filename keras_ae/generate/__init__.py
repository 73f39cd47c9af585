"""Generating by editing codes: `latent` (perturb, interpolate, attribute vectors) and `judge` (a separately
trained classifier that says what a decoded image shows, and the strength rule built on it)."""
