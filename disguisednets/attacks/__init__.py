"""Attacks on disguised images (paper §IV–V, docs/method.md §4) and the DNN examiner that scores them.

Each attack is a pure function on arrays of blocks, registered with what it needs and the threat
level it models in :mod:`disguisednets.attacks.registry`; the attack task
(:mod:`disguisednets.tasks.attack`) supplies that, cleans up and scores with the examiners
(:mod:`disguisednets.attacks.examiner`).
"""

from disguisednets.attacks.codebook import codebook_attack
from disguisednets.attacks.covariance import covariance_attack
from disguisednets.attacks.frequency import frequency_attack
from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.jigsaw import jigsaw_attack
from disguisednets.attacks.known_pair import block_key_from_pairs, value_key_from_pairs
from disguisednets.attacks.metrics import (hit_rates, images_recovered, linkage_rate, mse, recovered_ssim, ssim,
                                          success_rate)
from disguisednets.attacks.regression import regression_attack

__all__ = ["block_key_from_pairs", "codebook_attack", "covariance_attack", "frequency_attack", "jigsaw_attack",
           "mixture_picture", "regression_attack", "value_key_from_pairs",
           "hit_rates", "images_recovered", "linkage_rate", "mse", "recovered_ssim", "ssim", "success_rate"]
