"""An example DisguisedNets plugin (docs/plugins.md): a scheme — a secret byte mask per block position, then the
block permutation (``scheme``) — and its own attack, which supplies one stage of the battery (``attack``)."""
