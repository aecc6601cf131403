"""Routers: fit on a pool's answers to training questions, rank the pool's models for new queries."""
