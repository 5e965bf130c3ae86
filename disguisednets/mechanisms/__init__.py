"""The disguising mechanisms (docs/method.md §2): small objects with a key, ``disguise`` and, where the
key allows, ``restore``; and their registry with the key functions that need it."""

from disguisednets.mechanisms.aes import AESCBC, AESECB
from disguisednets.mechanisms.base import BlockMechanism, BlockPermutation, NoDisguise
from disguisednets.mechanisms.etc import BlockScrambling
from disguisednets.mechanisms.instahide import InstaHide
from disguisednets.mechanisms.learnable import LearnableEncryption
from disguisednets.mechanisms.pixelization import DPPixelization
from disguisednets.mechanisms.registry import (MECHANISMS, generate_key, get_mechanism, load_key, make_mechanism,
                                               validate_key_arrays)
from disguisednets.mechanisms.rmt import RMT

__all__ = ["MECHANISMS", "AESCBC", "AESECB", "BlockMechanism", "BlockPermutation", "BlockScrambling", "DPPixelization",
           "InstaHide",
           "LearnableEncryption", "NoDisguise", "RMT",
           "generate_key", "get_mechanism", "load_key", "make_mechanism", "validate_key_arrays"]
