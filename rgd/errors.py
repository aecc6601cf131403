"""Errors the library raises for bad input: they name the file and the row, never a numpy traceback."""

from __future__ import annotations

from typing import Iterable


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


class ParameterError(RGDError, ValueError):
    """A parameter (of a router, embedder, consensus, backend, config or command) outside its allowed values."""


class ArtifactError(RGDError, ValueError):
    """A stored router or table that is corrupt or was written by an incompatible version."""


class WriteError(RGDError, OSError):
    """A file the library could not write (the disk full, no permission, a read-only file system), naming the
    file and the cause. The writers (:func:`rgd.data.versioned_json.atomic_file`) leave nothing half-written in
    its place. An ``OSError`` as well, with the cause's ``errno``, for callers that catch those."""

    def __init__(self, message: str, *, path: object = None, reason: str | None = None,
                 errno: int | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.reason = reason
        self.errno = errno  # strerror and filename stay unset: str() is the message

    @classmethod
    def of(cls, path: object, cause: OSError, outcome: str = "nothing half-written is left in its place"
           ) -> "WriteError":
        """The error for ``cause`` while ``path`` was written (a nested WriteError keeps its own file)."""
        import errno as errno_names

        if isinstance(cause, WriteError):
            path, reason = cause.path, cause.reason
        else:
            code = errno_names.errorcode.get(cause.errno) if cause.errno is not None else None
            reason = cause.strerror or str(cause) or type(cause).__name__
            reason = f"{reason} ({code})" if code else reason
        return cls(f"{path}: cannot write it: {reason}; {outcome}", path=path, reason=reason, errno=cause.errno)


class NotFittedError(RGDError, RuntimeError):
    """A router, embedder or consensus scorer used before ``fit`` (or ``load``).

    A ``RuntimeError`` as well, which is what the library raised for this before it had one class for it.
    """


def fitted_attributes(obj: object) -> list[str]:
    """The names of ``obj``'s fitted state: its instance attributes ending in ``_`` (scikit-learn's convention)."""
    return [name for name in vars(obj) if name.endswith("_") and not name.startswith("__")]


def check_is_fitted(
    obj: object, what: str | None = None, *, attributes: Iterable[str] = (), hint: str = "call fit() first"
) -> None:
    """Raise :class:`NotFittedError` unless ``obj`` is fitted (the one way the library says "not fitted").

    Fitted means: every name in ``attributes`` is set on the instance; without names, ``obj.is_fitted`` where
    the object defines it (embedders: a pretrained one always is), else that some fitted attribute (a name
    ending in ``_``, set by ``fit`` or ``load``) exists. The message reads ``<what> is not fitted: <hint>``;
    ``what`` defaults to the class name.
    """
    names = list(attributes)
    if names:
        fitted = all(getattr(obj, name, None) is not None for name in names)
    else:
        flag = getattr(obj, "is_fitted", None)
        fitted = flag if isinstance(flag, bool) else bool(fitted_attributes(obj))
    if not fitted:
        raise NotFittedError(f"{what or type(obj).__name__} is not fitted: {hint}")
