"""Model theft (the paper's title claim, §I and §IV: disguising breaks the tie between the original
training space and the model): how well the cloud classifies *plain* images with the model M it
trained on disguised data.

- direct: M on plain images, its classes matched to the true ones by the best one-to-one
  assignment (an upper bound for the cloud: it uses the test labels);
- through an estimated disguise T̂: M(T̂(x)), classes matched by the same assignment, or, at
  level (b), by the assignment on the cloud's own m labelled pairs.

**Theft success** = 100 × the stolen classifier's accuracy on plain test images / the owner's
accuracy on disguised test images.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["assigned_accuracy", "class_map", "theft_success"]


def class_map(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The one-to-one map predicted class → true class that maximizes the matches (``out[pred]``)."""
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (np.asarray(pred), np.asarray(labels)), 1)
    rows, cols = linear_sum_assignment(-confusion)
    out = np.arange(n_classes)
    out[rows] = cols
    return out


def assigned_accuracy(pred: np.ndarray, labels: np.ndarray, n_classes: int,
                      mapping: np.ndarray | None = None) -> float:
    """Accuracy (%) of ``pred`` after mapping its classes (by ``mapping``, default the best one)."""
    mapping = class_map(pred, labels, n_classes) if mapping is None else mapping
    return 100.0 * float(np.mean(mapping[np.asarray(pred)] == np.asarray(labels)))


def theft_success(stolen_accuracy: float, owner_accuracy: float) -> float:
    """100 × stolen accuracy on plain images / the owner's accuracy on disguised images (both %)."""
    if owner_accuracy <= 0:
        raise ValueError("The owner's model has accuracy 0; theft success is undefined.")
    return 100.0 * stolen_accuracy / owner_accuracy
