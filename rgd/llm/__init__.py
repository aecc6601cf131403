"""rgd/llm."""
