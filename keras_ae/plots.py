"""Every picture keras-ae writes. Matplotlib on the Agg backend; functions take arrays and a path, keep no state."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
