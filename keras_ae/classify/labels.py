"""Labels for few-label training: which images are labelled, and what a user's label text means.

Every check here raises a one-line `UserError`: a data set without labels, too few labelled images for the
`--labels-per-class` asked for, a class without any labelled image, and labels that are neither integers nor
class names.

The user's own images (`read_user_images`): a folder of unlabeled images plus labels from a folder of class
subfolders or a `file,label` CSV, read into one `UserImages` with each image once; `split_given` holds some of
those labels out for validation. Here too every problem (a CSV row naming a missing file, an unknown column,
an empty class folder, a label image of another size without `--resize`) is one line naming the flag and file.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from keras_ae.errors import UserError


def load_labeled(spec, seed: int = 0, resize=None):
    """`keras_ae.data.load(spec)`, refusing data without labels. A `.npz` whose labels are strings (class
    names) is read too: its classes are the sorted distinct names. `resize`: (height, width) for a folder."""
    from keras_ae import data as datasets

    if isinstance(spec, datasets.ImageData):
        data = spec
    elif isinstance(spec, str) and spec.lower().endswith(".npz") and os.path.isfile(spec):
        data = _npz_with_named_labels(spec, seed) or datasets.load(spec, seed=seed)
    else:
        data = datasets.load(spec, seed=seed, resize=resize)
    if not data.has_labels:
        raise UserError(
            f"--dataset {data.name}: has no labels; classification needs labelled images "
            "(class subfolders, or a labels array in the .npz)"
        )
    return data


def _npz_with_named_labels(path: str, seed: int):
    from keras_ae.data import from_arrays

    try:
        with np.load(path, allow_pickle=False) as loaded:
            keys = list(loaded.keys())
            label_key = next((k for k in ("labels", "y", "y_train") if k in keys), None)
            image_key = next((k for k in ("images", "x", "x_train", "X") if k in keys), None)
            if label_key is None or image_key is None or loaded[label_key].dtype.kind not in "US":
                return None
            names = loaded[label_key].astype(str)
            images = loaded[image_key]
    except (OSError, ValueError):
        return None  # the data module says what is wrong with the file
    class_names = sorted(set(names.tolist()))
    labels = np.searchsorted(np.array(class_names), names).astype(np.int32)
    return from_arrays(path, images, labels, seed=seed, class_names=class_names)


def draw_labeled(labels, per_class: int, seed: int, class_names, exclude=None, source: str = "the data set"):
    """Indices of `per_class` images of every class, drawn with `seed`; `exclude` indices are never drawn.

    The draw is what makes a seed: each seed sees a different small labelled set of the same pool.
    """
    labels = np.asarray(labels)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise UserError(f"--labels-per-class must be a positive integer, got {per_class!r}")
    available = np.ones(len(labels), bool)
    if exclude is not None and len(exclude):
        available[np.asarray(exclude)] = False
    counts = [int(np.count_nonzero((labels == c) & available)) for c in range(len(class_names))]
    empty = [class_names[c] for c, n in enumerate(counts) if n == 0]
    if empty:
        raise UserError(f"{source}: class '{empty[0]}' has no labelled image to train on")
    needed = len(class_names) * per_class
    if sum(counts) < needed:
        raise UserError(
            f"{source}: {len(class_names)} classes x --labels-per-class {per_class} needs {needed} labelled images, "
            f"found {sum(counts)}"
        )
    short = [(class_names[c], n) for c, n in enumerate(counts) if n < per_class]
    if short:
        name, n = short[0]
        raise UserError(f"{source}: class '{name}' has {n} labelled images, fewer than --labels-per-class {per_class}")
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero((labels == c) & available), per_class, replace=False) for c in range(len(counts))
    ]
    return np.sort(np.concatenate(chosen))


def parse_labels(values, class_names, source: str) -> np.ndarray:
    """Label texts -> class indices. A text is a class name, or else an integer index into the classes."""
    names = [str(name) for name in class_names]
    index = {name: i for i, name in enumerate(names)}
    parsed = []
    for value in values:
        text = str(value).strip()
        if text in index:
            parsed.append(index[text])
            continue
        try:
            number = int(text)
        except ValueError:
            number = None
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        if number is None:
            kind = "unknown class name" if text and not _is_number(text) else "not an integer or a class name:"
            raise UserError(f"{source}: {kind} '{text}' (classes: {shown})")
        if not 0 <= number < len(names):
            raise UserError(f"{source}: class index {number} is out of range 0..{len(names) - 1}")
        parsed.append(number)
    return np.array(parsed, np.int32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- the user's own images: an unlabeled folder, and labels from class subfolders or a CSV ---------------------
LABEL_COLUMNS = ("file", "label")
UNLABELED = -1  # as keras_ae.classify.semi_supervised.UNLABELED


@dataclass
class UserImages:
    """Every image a few-label run on the user's folders learns from, read once, each image once.

    `files[:unlabeled]` are the `--dataset` folder's images (sorted), the ones `predictions.csv` covers; the
    rest are labelled images found only under `--labels`. `labels` holds a class index where the user gave
    one, else `UNLABELED` (-1); `truth` the same from `--truth` (None without it).
    """

    name: str
    files: list[str]
    unlabeled: int
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    fingerprint: str
    duplicates: int = 0
    truth: np.ndarray | None = None
    inputs: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images.shape[1:])

    @property
    def given(self) -> np.ndarray:
        """Indices of the images the user labelled."""
        return np.flatnonzero(self.labels != UNLABELED)

    @property
    def scored(self) -> np.ndarray:
        """Indices of the images whose `truth` is known and which the user did not label (what to score)."""
        if self.truth is None:
            return np.array([], np.int64)
        return np.flatnonzero((self.truth != UNLABELED) & (self.labels == UNLABELED))

    def image_data(self):
        """The images as an `ImageData` whose training split is all of them, in file order (no validation
        split: the labels the run holds out are chosen among the user's labels)."""
        import tensorflow as tf

        from keras_ae.data import ImageData

        def part(images):
            return tf.data.Dataset.from_tensor_slices({"image": images})

        return ImageData(
            name=self.name,
            shape=self.shape,
            train=part(self.images),
            validation=part(self.images[:0]),
            num_train=len(self.images),
            num_validation=0,
            info={"files": len(self.files)},
        )

    def describe(self) -> str:
        counts = np.bincount(self.labels[self.labels != UNLABELED], minlength=len(self.class_names))
        per_class = ", ".join(f"{name} {n}" for name, n in zip(self.class_names, counts, strict=True))
        extra = len(self.files) - self.unlabeled
        text = (
            f"data: {self.unlabeled} images in {self.name}"
            + (f" and {extra} more under the labels" if extra else "")
            + f", {self.shape[0]}x{self.shape[1]}x{self.shape[2]}; {len(self.given)} labelled ({per_class})"
        )
        if self.duplicates:
            text += f"; {self.duplicates} of the labelled files are also in {self.name} (each counted once)"
        if self.truth is not None:
            text += f"; --truth scores {len(self.scored)} files"
        return text


def read_user_images(dataset: str, labels: str, resize=None, truth: str | None = None) -> UserImages:
    """The unlabeled folder `dataset`, the labels of `labels`, checked whole before anything trains.

    `labels` is a folder with one subfolder of images per class (the subfolder's name is the class), or a CSV
    of `file,label` rows (a `file,label` header is optional; a relative path is looked up beside the CSV,
    then in `dataset`). A labelled image that is also in `dataset` (the same file name, or the same bytes) is
    that image, labelled: it is not counted twice. Images of another size than `dataset`'s need `resize`
    (height, width). `truth`: a CSV of the same form giving the true labels of `dataset` files, to score.
    Every problem is a one-line `UserError` naming the file and the flag.
    """
    from keras_ae.data import sources

    if not os.path.isdir(dataset):
        raise UserError(f"--dataset {dataset}: with --labels, --dataset must be the folder of your unlabeled images")
    files = _images_in(dataset)
    if not files:
        raise UserError(
            f"--dataset {dataset}: holds no image files directly ({', '.join(_extensions())}); labelled class "
            "subfolders go to --labels"
        )
    entries = _label_entries(labels, dataset)  # [(path, class name, what names it)]
    class_names = _sorted_names({name for _, name, _ in entries})
    if len(class_names) < 2:
        raise UserError(f"--labels {labels}: needs at least 2 classes, found {len(class_names)} ({class_names[0]})")

    # Each labelled file is an image of `dataset` (same path, same bytes, or same name), or one more image.
    digests = [_digest(path) for path in files]
    by_digest = {d: i for i, d in enumerate(digests)}
    by_name = {os.path.basename(path): i for i, path in enumerate(files)}
    by_path = {os.path.realpath(path): i for i, path in enumerate(files)}
    all_files, given, named_by, duplicates = list(files), {}, {}, set()
    for path, name, where in entries:
        digest = _digest(path)
        index = by_path.get(os.path.realpath(path), by_digest.get(digest, by_name.get(os.path.basename(path))))
        if index is not None and index < len(files) and os.path.realpath(path) not in by_path:
            duplicates.add(path)  # a copy of an image of `dataset`
        elif index is None:
            index = len(all_files)
            all_files.append(path)
            digests.append(digest)
            by_digest[digest] = index
        label = class_names.index(name)
        if given.get(index, label) != label:
            raise UserError(
                f"--labels {labels}: {where} and {named_by[index]} are the same image, labelled "
                f"'{class_names[given[index]]}' and '{name}'"
            )
        given[index], named_by[index] = label, where

    _check_sizes(dataset, files, all_files[len(files) :], labels, resize)
    images = sources.read_files(all_files, f"--dataset {dataset}", resize)
    label_array = np.full(len(all_files), UNLABELED, np.int32)
    label_array[list(given)] = list(given.values())
    fingerprint = hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
    expected = None
    if truth:
        expected = np.full(len(all_files), UNLABELED, np.int32)
        expected[: len(files)] = _truth(truth, dataset, files, by_name, by_path, by_digest, class_names)
    inputs = tuple(p for p in (dataset, labels, truth) if p)
    return UserImages(
        dataset, all_files, len(files), images, label_array, class_names, fingerprint, len(duplicates), expected, inputs
    )


def split_given(labels, validation_per_class: int, seed: int):
    """The user's labels split for one seed: `(training, validation)` indices. Each class keeps
    `validation_per_class` of its labels for validation, but never more than half of them (rounded down): a
    class with one label keeps it for training, and nothing of it is held out."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    training, validation = [], []
    for c in range(int(labels.max()) + 1):
        mine = rng.permutation(np.flatnonzero(labels == c))
        held = min(validation_per_class, len(mine) // 2)
        validation.append(mine[:held])
        training.append(mine[held:])
    return np.sort(np.concatenate(training)), np.sort(np.concatenate(validation)).astype(np.int64)


def _extensions():
    from keras_ae.io import IMAGE_EXTENSIONS

    return IMAGE_EXTENSIONS


def _images_in(folder: str) -> list[str]:
    from keras_ae import io

    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if io.is_image_file(name) and os.path.isfile(os.path.join(folder, name))
    )


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.sha1(f.read(), usedforsecurity=False).hexdigest()
    except OSError as error:
        raise UserError(f"cannot read {path} ({error.strerror or error})") from None


def _sorted_names(names) -> list[str]:
    """Class names in order: by number when every name is an integer (2 before 10), else alphabetically."""
    names = sorted(names)
    if all(name.lstrip("-").isdigit() for name in names):
        names.sort(key=int)
    return names


def _label_entries(labels: str, dataset: str) -> list[tuple[str, str, str]]:
    """`(image path, class name, where it was named)` for every label in a class folder or a CSV."""
    if os.path.isdir(labels):
        return _folder_entries(labels, dataset)
    if not os.path.isfile(labels):
        raise UserError(f"--labels {labels}: no such folder or file")
    if not labels.lower().endswith(".csv"):
        raise UserError(f"--labels {labels}: expected a folder of class subfolders or a .csv of file,label")
    return [(path, text, f"row {row}") for row, path, text in read_label_csv(labels, "--labels", dataset)]


def _folder_entries(labels: str, dataset: str) -> list[tuple[str, str, str]]:
    subfolders = sorted(d for d in os.listdir(labels) if os.path.isdir(os.path.join(labels, d)))
    loose = _images_in(labels)
    if loose and os.path.realpath(labels) != os.path.realpath(dataset):
        raise UserError(
            f"--labels {labels}: {os.path.basename(loose[0])} is not in a class subfolder (one subfolder per class)"
        )
    if not subfolders:
        raise UserError(f"--labels {labels}: holds no class subfolders (one subfolder of images per class)")
    entries = []
    for name in subfolders:
        found = _images_in(os.path.join(labels, name))
        if not found:
            raise UserError(
                f"--labels {labels}: class folder '{name}' holds no images (a class needs at least one labelled image)"
            )
        entries += [(path, name, os.path.join(name, os.path.basename(path))) for path in found]
    return entries


def read_label_csv(path: str, flag: str, dataset: str) -> list[tuple[int, str, str]]:
    """`(row number, image path, label text)` for each `file,label` row of a CSV. The header `file,label` is
    optional (a first row whose first cell is not an image file name is taken as a header, and must be it);
    a relative path is looked up beside the CSV, then in `dataset`."""
    from keras_ae import io

    try:
        with open(path, newline="") as f:
            rows = [(n, row) for n, row in enumerate(csv.reader(f), 1) if row and any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"{flag} {path}: cannot read it as a CSV ({error})") from None
    columns = (0, 1)
    if rows and not io.is_image_file(rows[0][1][0].strip()):
        header = [cell.strip().lower() for cell in rows[0][1]]
        unknown = [cell for cell in header if cell not in LABEL_COLUMNS]
        if unknown or sorted(header) != sorted(LABEL_COLUMNS):
            what = f"unknown column '{unknown[0]}'" if unknown else f"columns {','.join(header)}"
            raise UserError(f"{flag} {path}: {what}; the columns are file,label")
        columns = (header.index("file"), header.index("label"))
        rows = rows[1:]
    if not rows:
        raise UserError(f"{flag} {path}: holds no file,label rows")
    entries = []
    for number, row in rows:
        if len(row) != 2:
            raise UserError(f"{flag} {path}: row {number} has {len(row)} cells, not file,label")
        name, label = row[columns[0]].strip(), row[columns[1]].strip()
        if not label:
            raise UserError(f"{flag} {path}: row {number} ({name}) gives no label")
        if not io.is_image_file(name):
            raise UserError(f"{flag} {path}: row {number} names {name}, not an image file")
        candidates = [name] if os.path.isabs(name) else [os.path.join(os.path.dirname(path), name)]
        candidates += [] if os.path.isabs(name) else [os.path.join(dataset, name)]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None:
            raise UserError(
                f"{flag} {path}: row {number} names {name}, found neither beside the CSV nor in --dataset {dataset}"
            )
        entries.append((number, found, label))
    return entries


def _check_sizes(dataset: str, files, extra, labels: str, resize) -> None:
    """Without `resize`, every image must have the size of the first of `dataset` (header reads only)."""
    if resize:
        return
    from keras_ae import io

    sizes = {}
    for path in files:
        info = io.image_info(path)
        sizes.setdefault((info.height, info.width), path)
    if len(sizes) > 1:
        (a, first), (b, other) = list(sizes.items())[:2]
        raise UserError(
            f"--dataset {dataset}: images of different sizes ({os.path.basename(first)} is {a[0]}x{a[1]}, "
            f"{os.path.basename(other)} is {b[0]}x{b[1]}); pass --resize HxW"
        )
    ((height, width),) = sizes
    for path in extra:
        info = io.image_info(path)
        if (info.height, info.width) != (height, width):
            raise UserError(
                f"--labels {labels}: {path} is {info.height}x{info.width}, the images of --dataset {dataset} are "
                f"{height}x{width}; pass --resize HxW"
            )


def _truth(path, dataset, files, by_name, by_path, by_digest, class_names) -> np.ndarray:
    """`--truth`: the true class of `dataset` files it names (UNLABELED for the rest)."""
    truth = np.full(len(files), UNLABELED, np.int32)
    for number, found, text in read_label_csv(path, "--truth", dataset):
        index = by_path.get(os.path.realpath(found), by_name.get(os.path.basename(found)))
        if index is None:
            index = by_digest.get(_digest(found))
        if index is None or index >= len(files):
            raise UserError(f"--truth {path}: row {number} names {found}, which is not an image of --dataset {dataset}")
        truth[index] = parse_labels([text], class_names, f"--truth {path} row {number}")[0]
    return truth
