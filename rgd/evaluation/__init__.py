"""rgd/evaluation."""
