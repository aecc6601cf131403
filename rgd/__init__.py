"""Annotation-free LLM routing: Routing with Generated Data (RGD) and the CASCAL router.

The core library is plain Python (numpy, scikit-learn, pydantic) and never imports ZenML.
"""

__version__ = "0.1.0"
