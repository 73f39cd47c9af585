"""Measuring: numbers in, numbers and pictures out.

Modules (import the one you need; each loads only its own dependencies): `metrics` (PSNR, SSIM, MSE, k-NN
accuracy), `baselines` (PCA, logistic regression on pixels and PCA codes, Isolation Forest / PCA / k-NN anomaly
scores), `filters` (classical denoisers tuned on validation images), `plots` (every picture, Agg backend) and
`projector` (files for TensorBoard's Embedding Projector).
"""
