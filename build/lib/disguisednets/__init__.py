"""DisguisedNets: image disguising for outsourced deep learning (Sharma, Alam & Chen)."""

__version__ = "0.1.0"
