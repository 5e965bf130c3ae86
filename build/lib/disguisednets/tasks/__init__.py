"""The two tasks on a grid point (docs/method.md §3–§4): train a model on its disguised data
(:func:`train`), or attack its disguise (:func:`attack`). Each returns its result; tracking is the
caller's (:mod:`disguisednets.experiment`)."""

from disguisednets.tasks.attack import AttackResult, attack
from disguisednets.tasks.train import TrainResult, train

__all__ = ["AttackResult", "TrainResult", "attack", "train"]
