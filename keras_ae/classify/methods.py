"""The few-label methods, one function each: the labelled draw, the linear baselines and label spreading, a
frozen encoder under a head, its fine-tuning, one self-training round, and joint training. The classify recipe
composes them per seed; each takes plain arrays and settings, so a bench can run one alone."""

from __future__ import annotations

import math

import keras
import numpy as np

from keras_ae.classify import classifier as classifiers
from keras_ae.classify import joint, labels, semi_supervised
from keras_ae.classify.report import accuracy
from keras_ae.measure import baselines


def draw(pool_labels, per_class, validation_per_class, seed, names, source):
    """Labelled training indices, and validation indices disjoint from them."""
    labeled = labels.draw_labeled(pool_labels, per_class, seed, names, source=source)
    if not validation_per_class:
        return labeled, np.array([], np.int64)
    validation = labels.draw_labeled(pool_labels, validation_per_class, seed + 10_000, names, labeled, source=source)
    return labeled, validation


def linear_and_spreading(
    pool, pool_codes, pool_labels, test, test_codes, few, validation, classes, pca, seed, settings
):
    """(pool, test) probabilities of logistic regression on pixels and on PCA codes, and of label spreading.

    Logistic regression picks its C on the validation labels; label spreading its scaling and strength, unless
    `settings` fixes them. Returns the probabilities and label spreading's settings."""
    chosen_on = validation if len(validation) else few  # no validation labels: C by training accuracy
    val_x, val_y = pool[chosen_on], pool_labels[chosen_on]
    found = {}
    for name, model in (
        ("logreg_pixels", baselines.LogisticRegression(seed=seed)),
        ("pca_logreg", pca),
    ):
        model.fit(pool[few], pool_labels[few], val_x, val_y)
        found[name] = (model.predict_proba(pool), model.predict_proba(test) if len(test) else None)
    partial = np.full(len(pool), semi_supervised.UNLABELED)
    partial[few] = pool_labels[few]  # on your folders, the other labels are hidden here
    grid = [settings] if settings else [{"scale": s, "alpha": a} for s in semi_supervised.SCALES for a in (0.8, 0.99)]
    best = None
    for option in grid:
        spreading = semi_supervised.LabelSpreading(neighbors=10, **option).fit(pool_codes, partial, classes)
        right = accuracy(spreading.distributions[validation], val_y)
        if best is None or right > best[0]:
            best = (right, spreading, option)
    _, spreading, option = best
    found["label_spreading"] = (spreading.distributions, spreading.predict_proba(test_codes) if len(test) else None)
    return found, option


def frozen(ae, images, image_labels, steps, seed, names, augment, verbose):
    """A copy of the pretrained encoder, frozen, under a new head trained on the labelled images."""
    encoder = classifiers.freeze(classifiers.copy_encoder(ae.encoder))
    model = classifiers.build_classifier(encoder, names)
    classifiers.fit_classifier(model, images, image_labels, steps, 32, 1e-3, augment, seed, verbose=verbose)
    return model


def scratch(ae, images, image_labels, steps: int, learning_rate: float, augment, seed, names):
    """The baseline: the same network as the autoencoder's encoder under a head, from random weights, trained
    on the labelled images with the same augmentation."""
    model = classifiers.build_classifier(classifiers.copy_encoder(ae.encoder, initialize=True), names)
    classifiers.fit_classifier(model, images, image_labels, steps, 32, learning_rate, augment, seed)
    return model


def finetuned(head_trained, images, image_labels, steps: int, learning_rate: float, augment, seed):
    """A copy of the frozen-encoder classifier (`head_trained`, what `frozen` returns), then trained whole
    (batch norm frozen)."""
    tuned = keras.models.clone_model(head_trained)
    tuned.set_weights(head_trained.get_weights())
    classifiers.unfreeze(tuned)
    classifiers.fit_classifier(tuned, images, image_labels, steps, 32, learning_rate, augment, seed)
    return tuned


def self_training_round(
    ae, scratch, guesses, pool, pool_labels, labeled, validation, round_, settings, names, augment, verbose
):
    """One self-training round: the surest guesses per class (validation images never among them) plus the
    true labelled images train a new classifier, from the autoencoder's encoder or from scratch. `settings`:
    anything with `pseudo_fractions`, `rounds`, `round_epochs`, `first_round_epochs`,
    `last_round_epochs`, `last_round_networks`, `round_mixup`, `labeled_repeats`, `batch_size` and
    `learning_rate` (the recipe's Config). The true labels may appear `labeled_repeats` times, so that
    they are not one image in seventy of the round's (the steps are counted on the images without the
    repeats), and the batches may be blended (`round_mixup`, mixup's alpha): both against learning the
    wrong pseudo-labels. The last round may train several networks and average them (an ensemble); with
    one round, its settings are the last round's.

    Returns the classifier and the share of its pseudo-labels that were right (a diagnostic)."""
    fractions = settings.pseudo_fractions
    per_class = int(fractions[min(round_, len(fractions)) - 1] * len(pool) / len(names))
    chosen, pseudo = semi_supervised.top_per_class(guesses, per_class, exclude=np.r_[labeled, validation])
    repeats = settings.labeled_repeats
    images = np.concatenate([np.repeat(pool[labeled], repeats, axis=0), pool[chosen]])
    targets = np.concatenate([np.repeat(pool_labels[labeled], repeats), pseudo])
    epochs, networks = settings.round_epochs, 1
    if round_ == 1 and settings.first_round_epochs:
        epochs = settings.first_round_epochs
    if round_ == settings.rounds:
        networks = settings.last_round_networks
        if settings.last_round_epochs:
            epochs = settings.last_round_epochs
    steps = epochs * math.ceil((len(labeled) + len(chosen)) / settings.batch_size)
    members = []
    for member in range(networks):  # the same labels, another start (from scratch), head and order each
        model = classifiers.build_classifier(classifiers.copy_encoder(ae.encoder, initialize=scratch), names)
        classifiers.fit_classifier(
            model,
            images,
            targets,
            steps,
            settings.batch_size,
            settings.learning_rate,
            augment,
            member,
            verbose,
            mixup=settings.round_mixup,
        )
        members.append(model)
    model = members[0] if networks == 1 else classifiers.average(members)
    return model, float(np.mean(pseudo == pool_labels[chosen]))


def joint_classifier(ae, from_scratch, images, image_labels, unlabeled, settings, seed, names, verbose=0, callbacks=()):
    """The classifier of joint training (`keras_ae.classify.joint`): from the autoencoder with its
    reconstruction loss weighted by `joint_reconstruction`, or (`from_scratch`) from random weights without it.
    `settings`: anything with the recipe Config's `joint_*`, `mask` and `learning_rate`; `callbacks` see the
    `JointClassifier` as their model."""
    weight = 0.0 if from_scratch else settings.joint_reconstruction
    model = joint.build_joint(
        ae.encoder,
        ae.decoder,
        names,
        initialize=from_scratch,
        threshold=settings.joint_threshold,
        reconstruction_weight=weight,
        mask=settings.mask,
        seed=seed,
    )
    joint.fit_joint(
        model,
        images,
        image_labels,
        unlabeled,
        settings.joint_steps,
        32,
        settings.joint_ratio,
        settings.learning_rate,
        seed,
        verbose,
        callbacks,
    )
    return model.classifier
