"""Raw benchmark rows, from local files (JSON, JSON lines, Parquet) or from the Hugging Face hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from rgd.data.jsonl import open_text, read_jsonl
from rgd.errors import DataError

LOCAL_SUFFIXES = (".json", ".jsonl", ".jsonl.gz", ".json.gz", ".parquet")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(LOCAL_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise DataError(f"unsupported file type; expected one of {', '.join(LOCAL_SUFFIXES)}", path=path)


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with open_text(path) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg} at line {exc.lineno})", path=path) from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read file ({exc})", path=path) from None
    if isinstance(data, dict):  # {"data": [...]}, {"train": [...]}, or any mapping with one list of rows
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataError("a JSON object must hold exactly one list of rows", path=path)
        data = lists[0]
    if not isinstance(data, list):
        raise DataError(f"expected a list of row objects, got {type(data).__name__}", path=path)
    for row, obj in enumerate(data, start=1):
        if not isinstance(obj, dict):
            raise DataError(f"expected a JSON object, got {type(obj).__name__}", path=path, row=row)
        yield row, obj


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is in the pipeline extra
        raise DataError("reading Parquet needs pyarrow: pip install 'rgd-router[benchmarks]'", path=path) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"cannot read Parquet file ({exc})", path=path) from None
    for row, obj in enumerate(table.to_pylist(), start=1):
        yield row, obj


def read_local_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row_number, row)`` from a ``.json``, ``.jsonl[.gz]`` or ``.parquet`` file (rows 1-based)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    suffix = _suffix(path)
    if suffix in (".jsonl", ".jsonl.gz"):
        return read_jsonl(path)
    if suffix == ".parquet":
        return _parquet_rows(path)
    return _json_rows(path)


def read_hub_rows(
    hub_path: str, split: str, config: str | None = None, cache_dir: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a Hugging Face dataset through ``datasets.load_dataset`` (needs the network or a warm cache)."""
    try:
        from datasets import load_dataset
    except ImportError:
        raise DataError(
            "loading benchmarks from the hub needs the 'datasets' package: pip install 'rgd-router[benchmarks]'"
            " (or pass a local JSON/JSONL/Parquet file)"
        ) from None
    try:
        dataset = load_dataset(hub_path, config, split=split, cache_dir=cache_dir)
    except Exception as exc:  # network, auth, or unknown split: name the dataset
        raise DataError(f"cannot load {hub_path!r} split {split!r} from the hub ({type(exc).__name__}: {exc})") from None
    for row, obj in enumerate(dataset, start=1):
        yield row, dict(obj)
