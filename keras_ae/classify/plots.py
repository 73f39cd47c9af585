"""The two pictures of the classify recipe, in the style of `keras_ae.plots` (Agg, arrays in, a file out)."""

from __future__ import annotations

import numpy as np

from keras_ae import plots  # noqa: F401 - selects the Agg backend before pyplot loads


def accuracy_vs_labels(curves: dict, path: str, title: str = "accuracy against labelled images") -> None:
    """`curves = {method: {labels_per_class: (mean, std)}}`: one line per method, error bars over seeds."""
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(true, predicted, class_names, path: str, title: str = "confusion matrix") -> np.ndarray:
    """Rows: true class, columns: predicted class, counts written in the cells. Returns the matrix."""
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return matrix
