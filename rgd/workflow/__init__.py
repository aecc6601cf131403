"""rgd/workflow."""
