"""Every picture keras-ae writes. Matplotlib on the Agg backend; functions take arrays and a path, keep no state."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path: str) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _show(ax, image):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(image.clip(0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def image_rows(rows: dict, path: str, columns: int = 10, title: str | None = None) -> None:
    """One row per named array (e.g. original / reconstruction), `columns` images each."""
    names = list(rows)
    columns = min(columns, *(len(rows[n]) for n in names))
    fig, axes = plt.subplots(len(names), columns, figsize=(columns * 1.1, len(names) * 1.2 + 0.4), squeeze=False)
    for r, name in enumerate(names):
        for c in range(columns):
            _show(axes[r, c], rows[name][c])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def reconstruction_grid(originals, reconstructions, path: str, columns: int = 10, title: str | None = None) -> None:
    image_rows({"original": originals, "reconstruction": reconstructions}, path, columns, title)


def training_curves(history: dict, path: str, title: str = "training") -> None:
    """Loss per epoch, training and validation, on a log scale (losses shrink by orders of magnitude)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, values in history.items():
        if key.endswith("loss"):
            ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def latent_map(points_2d, labels, path: str, title: str = "latent map", class_names=None) -> None:
    """Codes projected to 2-D, one colour per label: similar objects should sit together."""
    fig, ax = plt.subplots(figsize=(6, 6))
    if labels is None:
        ax.scatter(points_2d[:, 0], points_2d[:, 1], s=4, alpha=0.6)
    else:
        labels = np.asarray(labels)
        for value in np.unique(labels):
            chosen = labels == value
            name = class_names[value] if class_names is not None and value < len(class_names) else str(value)
            ax.scatter(points_2d[chosen, 0], points_2d[chosen, 1], s=4, alpha=0.6, label=name)
        ax.legend(markerscale=3, fontsize=8, loc="best")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    _save(fig, path)


def attribute_clouds(panels: dict, path: str, names=("with", "without")) -> None:
    """The lecture's picture of an attribute vector, one panel per model: the 2-D codes of images with and
    without the attribute, their centres, and S as the arrow from one centre to the other.

    `panels[title] = (with_2d, without_2d)`, codes already projected (e.g. by `keras_ae.generate.latent.projection`)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    for ax, (title, (positive, negative)) in zip(axes[0], panels.items(), strict=True):
        ax.scatter(negative[:, 0], negative[:, 1], s=4, alpha=0.35, color="tab:blue", label=names[1])
        ax.scatter(positive[:, 0], positive[:, 1], s=4, alpha=0.35, color="tab:orange", label=names[0])
        start, end = negative.mean(axis=0), positive.mean(axis=0)
        ax.scatter(*zip(start, end, strict=True), s=40, color="k", marker="x", zorder=3, label="centres")
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "k", "linewidth": 2})
        ax.text(*(start + end) / 2, "  S", fontsize=12, fontweight="bold", va="bottom")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("along S")
        ax.set_ylabel("main spread orthogonal to S")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(markerscale=3, fontsize=8, loc="best")
    _save(fig, path)


def accuracy_vs_labels(curves: dict, path: str, title: str = "accuracy against labelled images") -> None:
    """`curves = {method: {labels_per_class: (mean, std)}}`: one line per method, error bars over seeds."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for method, points in curves.items():
        counts = sorted(points)
        means = [100 * points[c][0] for c in counts]
        stds = [100 * points[c][1] for c in counts]
        ax.errorbar(counts, means, yerr=stds, marker="o", markersize=4, capsize=3, label=method)
    ax.set_xscale("log")
    ax.set_xticks(sorted({c for p in curves.values() for c in p}))
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.set_xlabel("labelled images per class")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def confusion_matrix(true, predicted, class_names, path: str, title: str = "confusion matrix") -> np.ndarray:
    """Rows: true class, columns: predicted class, counts written in the cells. Returns the matrix."""
    count = len(class_names)
    matrix = np.zeros((count, count), np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
    size = max(4.0, 0.45 * count + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(count), class_names, fontsize=8)
    ax.set_yticks(range(count), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if count <= 20:
        threshold = matrix.max() / 2
        for i in range(count):
            for j in range(count):
                if matrix[i, j]:
                    colour = "white" if matrix[i, j] > threshold else "black"
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(title, fontsize=10)
    _save(fig, path)
    return matrix


def score_histograms(scores: dict, labels, thresholds: dict, aucs: dict, path: str) -> None:
    """One panel per method: its scores of normal (label 0) and anomalous (1) examples, and its threshold."""
    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(scores), figsize=(4 * len(scores), 3.2), squeeze=False)
    for ax, (method, s) in zip(axes[0], scores.items(), strict=True):
        bins = np.linspace(s.min(), s.max(), 40)
        ax.hist(s[labels == 0], bins=bins, alpha=0.6, density=True, label="normal")
        ax.hist(s[labels == 1], bins=bins, alpha=0.6, density=True, label="anomalous")
        ax.axvline(thresholds[method], color="k", linestyle="--", linewidth=1, label="threshold")
        ax.set_title(f"{method} (AUC {aucs[method]:.3f})", fontsize=9)
        ax.set_yticks([])
    axes[0, 0].legend(fontsize=8)
    _save(fig, path)


def roc_curves(scores: dict, labels, aucs: dict, path: str, name: str) -> None:
    """The ROC curve of every method's scores (1 = anomalous), its AUC in the legend."""
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5, 5))
    for method, s in scores.items():
        fp, tp, _ = roc_curve(labels, s)
        ax.plot(fp, tp, label=f"{method} ({aucs[method]:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(f"ROC on {name} test examples")
    ax.legend(fontsize=8)
    _save(fig, path)
