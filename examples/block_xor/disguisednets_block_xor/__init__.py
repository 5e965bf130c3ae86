"""An example DisguisedNets plugin: a secret byte mask per block position (docs/plugins.md)."""
