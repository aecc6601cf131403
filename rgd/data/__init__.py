"""rgd/data."""
