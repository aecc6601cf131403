"""Subject descriptions: the high-level task descriptions a generator writes questions from.

A subject set is a YAML file::

    benchmark: mmlu_pro          # a name for the set
    n_options: 10                # default number of options per generated question
    subjects:
      - name: biology            # the subject label questions carry (the benchmark's own spelling)
        description: ...         # a few sentences on what the subject's questions test
        n_options: 4             # optional, overrides the set's default

Built-in sets live in ``rgd/data/catalog/<benchmark>.yaml``; ``load_subjects`` takes either such a
benchmark name or the path of any YAML file in this format, so users can edit or replace them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rgd.data.schema import MAX_OPTIONS
from rgd.data.yaml_file import YAMLError, safe_load_unique
from rgd.errors import DataError, ParameterError

MIN_OPTIONS = 2


class SubjectSpec(BaseModel):
    """One subject: its label, its description, and how many options its questions have."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=10)
    n_options: int | None = Field(default=None, ge=MIN_OPTIONS, le=MAX_OPTIONS)

    @field_validator("name", "description")
    @classmethod
    def _stripped(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ParameterError("must not be blank")
        return v


class SubjectSet(BaseModel):
    """A benchmark's subjects; every subject's ``n_options`` is filled in from the set's default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    benchmark: str = Field(min_length=1)
    n_options: int = Field(ge=MIN_OPTIONS, le=MAX_OPTIONS)
    subjects: tuple[SubjectSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> "SubjectSet":
        names = [s.name for s in self.subjects]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ParameterError(f"subject names must be unique; repeated: {dupes}")
        filled = tuple(s if s.n_options is not None else s.model_copy(update={"n_options": self.n_options})
                       for s in self.subjects)
        object.__setattr__(self, "subjects", filled)
        return self

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.subjects]

    def get(self, name: str) -> SubjectSpec:
        for s in self.subjects:
            if s.name == name:
                return s
        raise KeyError(f"no subject {name!r} in {self.benchmark!r}; known: {self.names}")

    def select(self, names: list[str]) -> "SubjectSet":
        """The same set restricted to ``names`` (in that order)."""
        return self.model_copy(update={"subjects": tuple(self.get(n) for n in names)})


def _builtin_dir():
    return resources.files("rgd.data") / "catalog"


def builtin_subject_sets() -> list[str]:
    """Names of the built-in subject sets (``mmlu_pro``, ``supergpqa``, ``medmcqa``, ``bbeh``)."""
    return sorted(p.name[: -len(".yaml")] for p in _builtin_dir().iterdir() if p.name.endswith(".yaml"))


def parse_subjects(text: str, origin: str) -> SubjectSet:
    """Validate YAML text as a subject set; errors name ``origin`` and the offending field."""
    try:
        data = safe_load_unique(text)
    except YAMLError as exc:
        raise DataError(f"malformed YAML ({exc})", path=origin) from None
    if not isinstance(data, dict):
        raise DataError("a subject file must be a mapping with 'benchmark', 'n_options' and 'subjects'", path=origin)
    try:
        return SubjectSet.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise DataError(f"invalid subject set ({problems})", path=origin) from None


def load_subjects(name_or_path: str | Path) -> SubjectSet:
    """A built-in set by benchmark name, or any YAML file in the same format."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        try:
            return parse_subjects(candidate.read_text(encoding="utf-8"), str(candidate))
        except OSError as exc:
            raise DataError(f"cannot read subject file ({exc})", path=candidate) from None
    name = str(name_or_path)
    resource = _builtin_dir() / f"{name}.yaml"
    if not resource.is_file():
        raise DataError(
            f"unknown subject set {name!r}: give a YAML file path or one of {builtin_subject_sets()}"
        )
    return parse_subjects(resource.read_text(encoding="utf-8"), f"rgd/data/catalog/{name}.yaml")
