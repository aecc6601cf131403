"""What every benchmark adapter provides: where the data lives on the hub and how a row becomes a Question."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from rgd.data.schema import Question
from rgd.errors import ParameterError


class SkipRow(Exception):
    """A row that is valid data but cannot be a multiple-choice question; counted under ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RowContext:
    """Per-file state a row mapper may keep (e.g. counters for ids of benchmarks without native ids)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def next_index(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, -1) + 1
        return self.counters[key]


RowMapper = Callable[[Mapping[str, Any], RowContext], Question]


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark: its hub location and the mapping of one raw row to a Question.

    ``to_question`` raises ``KeyError`` for a missing field (reported as a data error naming the row)
    and ``SkipRow`` for a row that has no multiple-choice form.
    """

    name: str
    hub_path: str
    hub_split: str
    to_question: RowMapper
    hub_config: str | None = None
    required_fields: tuple[str, ...] = ()


def as_list(value: Any) -> list:
    """Options as a plain list (Parquet gives NumPy arrays, some exports a JSON string)."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ParameterError(f"options must be a list, got the string {value[:60]!r}") from None
    if value is None:
        raise ParameterError("options are missing")
    return [str(v) for v in list(value)]
