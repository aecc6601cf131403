"""LLM backends behind one interface (see :mod:`rgd.backends.base`)."""
