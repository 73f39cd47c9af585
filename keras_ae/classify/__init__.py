"""Classify with a few dozen labels by standing on an autoencoder trained on many unlabeled images.

    classifier = build_classifier(ae.encoder, class_names)   # encoder -> Dense head -> probabilities
    freeze(ae.encoder)                                          # then compile: the encoder stays as it is
    fit_classifier(classifier, images, labels, steps=300)

The parts, one module each: `labels` (labelled subsets and label parsing, and the user's folders of images
with class subfolders or a `file,label` CSV, with the one-line errors), `classifier` (the head, freezing,
fine-tuning with batch norm in inference mode), `augment` (small shifts and rotations; the weak and strong
views of consistency training), `semi_supervised` (label spreading in code space, pseudo-labels), `joint`
(the classifier and the autoencoder trained together: consistency on unlabeled images plus reconstruction),
`predictions` (labelling files, the threshold of a sure prediction, the files to label next, predictions.csv
and to_label.csv). Its baselines (logistic
regression on pixels and on PCA codes) are in `keras_ae.measure.baselines`, its pictures in `keras_ae.measure.plots`.
"""

from keras_ae.classify.classifier import (
    ClassProbabilities,
    build_classifier,
    class_names_of,
    fit_classifier,
    freeze,
    unfreeze,
)
from keras_ae.classify.labels import draw_labeled, parse_labels

__all__ = [
    "ClassProbabilities",
    "build_classifier",
    "class_names_of",
    "draw_labeled",
    "fit_classifier",
    "freeze",
    "parse_labels",
    "unfreeze",
]
