"""Reading JSON-lines files (plain or gzip) with errors that name the file and the row; writing them whole or
not at all (:func:`rgd.data.versioned_json.atomic_file`)."""

from __future__ import annotations

import gzip
import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterator

from rgd.data.versioned_json import atomic_file
from rgd.errors import DataError


def open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row_number, object)`` for every non-blank line; row numbers are 1-based."""
    path = Path(path)
    try:
        with open_text(path) as fh:
            for row, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"malformed JSON ({exc.msg} at column {exc.colno})", path=path, row=row) from None
                if not isinstance(obj, dict):
                    raise DataError(f"expected a JSON object, got {type(obj).__name__}", path=path, row=row)
                yield row, obj
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read file ({exc})", path=path) from None


def write_jsonl(path: str | Path, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as raw:  # a gzip stream into it keeps the file's own name in its header
        with gzip.GzipFile(str(path), "wb", fileobj=raw) if path.suffix == ".gz" else nullcontext(raw) as fh:
            for obj in rows:
                fh.write((json.dumps(obj) + "\n").encode("utf-8"))
