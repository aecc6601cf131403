"""Routers: fit on a pool's answers to training questions, rank the pool's models for new queries."""

from rgd.routers import registry as _registry  # noqa: F401 - fills rgd.routers.base.ROUTERS with every router type
