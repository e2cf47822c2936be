"""Teaching a tag by example: the user's decisions (photos tagged or confirmed by hand are a
label's positives, rejected ones its negatives) move the label's embedding and set its threshold.

A label's taught embedding is a prototype mix in the spirit of Tip-Adapter's cache model:
``unit(text + PROTOTYPE_WEIGHT · unit(mean(positives)) − NEGATIVE_WEIGHT · unit(mean(negatives)))``.
With the tests' tiny CLIP, five examples of a concept the text tower cannot name (a made-up word
for red triangles) find it with precision@10 0.0 (text alone), 0.8 (weight 1), 1.0 (weight 2 and
4); tests/test_teaching.py measures it again. A label without examples keeps its text embedding
bit for bit, so a set nobody taught tags exactly as zero-shot tagging does.

Multi-label sets: each label's threshold is the cut that best separates (F1) the scores of its
positives from those of its negatives (rejected photos, and photos given other labels of the set
by hand but not this one), halfway to the next score below; without both kinds, or when the
label's scores hardly tell them apart (AUC < MIN_SEPARATION, as with shuffled examples), the set's.
Single-mode sets may answer no label: ``abstain`` (a setting) is the score the best label needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

#: the positives' mean weighs this much against the label's text embedding (both unit length)
PROTOTYPE_WEIGHT = 2.0
#: the negatives' mean is taken away with this weight
NEGATIVE_WEIGHT = 0.5
#: a label's threshold is learned only from examples that its scores tell apart this well (AUC)
MIN_SEPARATION = 0.8
#: decisions that make a photo a positive example of a label
POSITIVE = ("user", "confirmed")


@dataclass
class Examples:
    """One label's examples, as vectors of the current model."""

    positives: np.ndarray
    negatives: np.ndarray
    #: photos given other labels of the set by hand, not this one (negatives for the threshold)
    others: np.ndarray

    @property
    def any(self) -> bool:
        return bool(len(self.positives) or len(self.negatives))


@dataclass
class Taught:
    """What a tag set's examples make of it: the label matrix scored like the text embeddings
    (softmax over the set), each label's threshold (multi) and the abstain score (single)."""

    matrix: np.ndarray
    thresholds: Optional[np.ndarray] = None
    abstain: float = 0.0
    taught: list[str] = field(default_factory=list)  # the labels that have examples


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) + 1e-12)


def digest(rows: Iterable[tuple[str, str, str, object]], *extra: object) -> str:
    """A short key of a set's examples ((fingerprint, label, decision, vector) rows) and whatever
    else changes its tags (``extra``): "" when there are no examples and nothing else, so a set
    nobody taught keeps its tags."""
    items = sorted((fp, label, decision) for fp, label, decision, _ in rows)
    if not items and not any(extra):
        return ""
    return hashlib.sha256(repr((items, extra)).encode()).hexdigest()[:24]


def examples_by_label(rows: Sequence[tuple[str, str, str, np.ndarray]], labels: Sequence[str],
                      dim: int) -> dict[str, Examples]:
    """The examples of each label from (fingerprint, label, decision, vector) rows of one set."""
    empty = np.zeros((0, dim), np.float32)
    by_fp: dict[str, dict[str, str]] = {}
    vec: dict[str, np.ndarray] = {}
    for fp, label, decision, v in rows:
        by_fp.setdefault(fp, {})[label] = decision
        vec[fp] = v

    def stack(fps: list[str]) -> np.ndarray:
        return np.stack([vec[fp] for fp in fps]).astype(np.float32) if fps else empty

    out = {}
    for label in labels:
        pos = [fp for fp, d in by_fp.items() if d.get(label) in POSITIVE]
        neg = [fp for fp, d in by_fp.items() if d.get(label) == "rejected"]
        others = [fp for fp, d in by_fp.items() if label not in d and any(x in POSITIVE for x in d.values())]
        out[label] = Examples(stack(pos), stack(neg), stack(others))
    return out


def prototype(text: np.ndarray, ex: Optional[Examples]) -> np.ndarray:
    """A label's embedding moved towards its positives and away from its negatives (unit length);
    without examples, ``text`` itself."""
    if ex is None or not ex.any:
        return text
    v = text.astype(np.float64)
    if len(ex.positives):
        v = v + PROTOTYPE_WEIGHT * _unit(ex.positives.astype(np.float64).mean(axis=0))
    if len(ex.negatives):
        v = v - NEGATIVE_WEIGHT * _unit(ex.negatives.astype(np.float64).mean(axis=0))
    return _unit(v).astype(np.float32)


def separation(pos: np.ndarray, neg: np.ndarray) -> float:
    """How well scores tell positives from negatives: the chance that a positive scores above a
    negative (ROC AUC; 0.5 for examples that say nothing, e.g. shuffled ones)."""
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def best_cut(pos: np.ndarray, neg: np.ndarray, default: float) -> float:
    """The score that best separates positives (at or above it) from negatives (F1 on them),
    halfway down to the next score below; ``default`` without both kinds, or when the scores
    hardly tell them apart (separation below MIN_SEPARATION)."""
    if not len(pos) or not len(neg) or separation(pos, neg) < MIN_SEPARATION:
        return default
    scores = np.unique(np.concatenate([pos, neg]))
    best_f1, cut = -1.0, default
    for c in scores[::-1]:  # from the top: ties keep the higher cut
        tp = int((pos >= c).sum())
        fp = int((neg >= c).sum())
        f1 = 2 * tp / (tp + fp + len(pos))
        if f1 > best_f1 + 1e-12:
            best_f1, cut = f1, float(c)
    below = scores[scores < cut]
    if len(below):
        cut = (cut + float(below.max())) / 2
    return float(min(max(cut, 0.01), 0.99))


def teach(labels: Sequence[str], mode: str, threshold: float, text_matrix: np.ndarray,
          examples: dict[str, Examples], logit_scale: float, abstain: float = 0.0) -> Taught:
    """A set's taught label matrix and thresholds from its examples."""
    from .tagging import label_probabilities

    taught = [label for label in labels if label in examples and examples[label].any]
    if not taught:
        return Taught(text_matrix, None, abstain if mode == "single" else 0.0)
    matrix = text_matrix.copy()
    for i, label in enumerate(labels):
        matrix[i] = prototype(text_matrix[i], examples.get(label))
    thresholds = None
    if mode == "multi":
        thresholds = np.full(len(labels), float(threshold), np.float32)
        for i, label in enumerate(labels):
            ex = examples.get(label)
            if ex is None or not len(ex.positives):
                continue
            negatives = np.concatenate([ex.negatives, ex.others])
            if not len(negatives):
                continue
            pos = label_probabilities(ex.positives, matrix, logit_scale)[:, i]
            neg = label_probabilities(negatives, matrix, logit_scale)[:, i]
            thresholds[i] = best_cut(pos, neg, float(threshold))
    return Taught(matrix, thresholds, abstain if mode == "single" else 0.0, taught)
