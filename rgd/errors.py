"""Errors the library raises for bad input: they name the file and the row, never a numpy traceback."""

from __future__ import annotations


class RGDError(Exception):
    """Base class for every error this library raises on purpose."""


class DataError(RGDError, ValueError):
    """Input data that cannot be used, located by file and (1-based) row when known."""

    def __init__(self, message: str, *, path: object = None, row: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.row = row
        where = ""
        if self.path is not None:
            where = self.path if row is None else f"{self.path}, row {row}"
            where += ": "
        super().__init__(where + message)


def validation_message(exc: Exception) -> str:
    """The first problem of a pydantic ValidationError as one line: ``invalid <field>: <message>``."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "question"
    return f"invalid {loc}: {first['msg']}"


class ArtifactError(RGDError, ValueError):
    """A stored router or table that is corrupt or was written by an incompatible version."""
