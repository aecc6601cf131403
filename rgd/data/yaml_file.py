"""The one YAML reader of the project: safe loading that refuses a mapping with the same key twice.

YAML keeps the last of two equal keys silently, so a run config, a gateway config, a subject set or a
Kubernetes run file with a key typed twice would run with half of what it says. Every YAML the project reads
goes through here: :func:`read_yaml` (a file; errors are a :class:`~rgd.errors.DataError` naming the file and
the key), :func:`safe_load_unique` (text) and :func:`safe_load_all_unique` (a multi-document stream).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rgd.errors import DataError

__all__ = ["UniqueKeyLoader", "YAMLError", "read_yaml", "safe_load_all_unique", "safe_load_unique"]

YAMLError = yaml.YAMLError


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (YAML keeps the last one silently).
    Merge keys (``<<: *anchor``) are not duplicates: the explicit keys override the merged ones."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.setdefault(key, line)
                except TypeError:  # an unhashable key: the constructor reports it
                    continue
                if first != line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} at line {line} (first at line {first})",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def safe_load_unique(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate mapping keys (:class:`UniqueKeyLoader`)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def safe_load_all_unique(text: str) -> list[Any]:
    """``yaml.safe_load_all`` that refuses duplicate mapping keys: every document of the stream."""
    return list(yaml.load_all(text, Loader=UniqueKeyLoader))  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; unreadable or invalid files (a duplicate key among them) are a
    :class:`DataError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the config ({exc.strerror})", path=path) from None
    try:
        return safe_load_unique(text)
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML ({exc})", path=path) from None
