"""rgd/config."""
