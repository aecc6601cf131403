"""Harder pools made from recorded ones: the shapes under which label-free estimates of who is right fail.

A label-free estimator is judged on pools it has never seen. The pools where it failed share a shape (issue
23): one strong model among several weak ones whose errors coincide far beyond chance, every model
over-picking the first options, and weak models that often give no answer at all. Each transformation below
takes a recorded pool (a :class:`~rgd.data.response_table.ResponseTable` with its true keys) and builds that
shape from the recorded answers, so the result keeps the real questions, the real difficulty structure and
the real right answers, and changes only what the transformation says:

* :func:`add_clone`: a new member copies a ``source`` model's answer (right, wrong or none) with probability
  ``share`` and otherwise answers like another model ``base``: its accuracy lies between the two, and it shares
  most of the source's errors. Fair because real pools hold
  derivatives of one base model (fine-tunes, quantised and distilled variants, one lab's releases) that
  inherit its misconceptions: their agreement is weak evidence, and a crowd of them outnumbers a lone strong
  model.
* :func:`with_position_bias`: each wrong answer becomes option A with probability ``share`` (the key is never
  turned into A). Fair because models pick the first options more often than the keys have them when they
  are unsure (A 14-19% of answers against 12% of keys on recorded pools): biased members then agree on A for
  reasons that say nothing about the truth.
* :func:`with_missing`: each wrong answer becomes no answer with probability ``share``. Fair because weak
  models fail to produce a parseable answer on 10-20% of questions, mostly the ones they cannot solve; their
  answered questions then look easier than they are.

:func:`stress_suite` draws seeded pools of four kinds from a table: ``clones``, ``position_bias``,
``missing`` and ``lone_strong`` (one strong model among 4-8 weak, correlated, biased members with missing
answers: all three at once). Strong and weak are decided with the true keys: the suite is the world a router
is tested in, and the router never sees them.

The opposite shape, several strong models in one pool, is :func:`frontier_suite`, built with :func:`add_strong`:
a new member answers like a recorded ``base`` model except on the ``share`` of questions it finds easiest, where
it gives the key. Fair because a pool of a few frontier models and some cheap ones is the common deployment: the
strong members are right together on most questions, which copy detection must not take for copying, and their
errors gather on the hard questions (the ones the field gets wrong), where each errs as a real model does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rgd.data.response_table import NO_ANSWER, ResponseTable
from rgd.errors import DataError, ParameterError

KINDS = ("clones", "position_bias", "missing", "lone_strong")
#: a model is strong when its accuracy is within this much of the table's best, weak when it is this far below
#: the strong model it is pooled with (the issue's shape: 0.24-0.40 against 0.63)
STRONG_WITHIN = 0.25
WEAK_BELOW = 0.07


@dataclass(frozen=True)
class StressPool:
    """One pool of the suite: its table (members and answers), its kind and what was done to whom."""

    name: str
    kind: str
    table: ResponseTable
    changes: tuple[str, ...]


def _check_share(share: float) -> None:
    if not 0 <= share <= 1:
        raise ParameterError(f"share must lie in [0, 1], got {share}")


def _wrong(table: ResponseTable, row: np.ndarray) -> np.ndarray:
    return (row >= 0) & (row != table.answers)


def _with_row(table: ResponseTable, model: str, row: np.ndarray) -> ResponseTable:
    """The table with ``model``'s answers replaced (or appended when it is new); confidence unknown there."""
    choices, conf = table.choices.copy(), table.confidence.copy()
    models = list(table.models)
    if model in models:
        i = models.index(model)
    else:
        models.append(model)
        choices = np.vstack([choices, np.full((1, table.n_questions), NO_ANSWER, dtype=choices.dtype)])
        conf = np.vstack([conf, np.full((1, table.n_questions), np.nan, dtype=conf.dtype)])
        i = len(models) - 1
    choices[i] = row
    conf[i] = np.nan
    return ResponseTable(tuple(models), table.question_ids, table.subjects, table.n_options, choices, conf,
                         table.answers)


def _row(table: ResponseTable, model: str) -> np.ndarray:
    if model not in table.models:
        raise DataError(f"model {model!r} is not in the pool {list(table.models)}")
    if not table.has_answers:
        raise DataError("stress transformations need the true key of every question")
    return table.choices[table.models.index(model)].astype(np.int64)


def add_clone(table: ResponseTable, source: str, base: str, share: float, rng: np.random.Generator,
              name: str) -> ResponseTable:
    """A new member ``name``: ``source``'s answer with probability ``share`` on each question, else ``base``'s."""
    _check_share(share)
    src, row = _row(table, source), _row(table, base)
    copy = rng.random(table.n_questions) < share
    return _with_row(table, name, np.where(copy, src, row).astype(table.choices.dtype))


def with_position_bias(table: ResponseTable, model: str, share: float, rng: np.random.Generator) -> ResponseTable:
    """``model``'s wrong answers turned into option A with probability ``share`` (never where A is the key)."""
    _check_share(share)
    row = _row(table, model)
    move = _wrong(table, row) & (table.answers != 0) & (rng.random(table.n_questions) < share)
    return _with_row(table, model, np.where(move, 0, row).astype(table.choices.dtype))


def with_missing(table: ResponseTable, model: str, share: float, rng: np.random.Generator) -> ResponseTable:
    """``model``'s wrong answers turned into no answer with probability ``share``."""
    _check_share(share)
    row = _row(table, model)
    drop = _wrong(table, row) & (rng.random(table.n_questions) < share)
    return _with_row(table, model, np.where(drop, NO_ANSWER, row).astype(table.choices.dtype))


def add_strong(table: ResponseTable, base: str, share: float, rng: np.random.Generator, name: str,
               spread: float | None = 0.25) -> ResponseTable:
    """A new member ``name``: ``base``'s answers, but the key on the ``share`` of questions it finds easiest. A
    question's ease is the share of the table's models right on it plus Gaussian noise of s.d. ``spread`` drawn
    for this member (0: every strong member is right on the same easiest questions; None: the questions are
    drawn at random, errors spread regardless of difficulty)."""
    _check_share(share)
    if spread is not None and not spread >= 0:
        raise ParameterError(f"spread must be >= 0 (or None: at random), got {spread}")
    row = _row(table, base)
    if spread is None:
        keyed = rng.random(table.n_questions) < share
    else:
        ease = table.correct().mean(axis=0) + rng.normal(0.0, spread, table.n_questions)
        keyed = np.zeros(table.n_questions, dtype=bool)
        keyed[np.argsort(-ease, kind="stable")[:int(round(share * table.n_questions))]] = True
    return _with_row(table, name, np.where(keyed, table.answers, row).astype(table.choices.dtype))


def frontier_pool(table: ResponseTable, rng: np.random.Generator, name: str = "frontier",
                  spread: float | None = 0.25) -> StressPool:
    """One seeded pool of 2-4 strong members (:func:`add_strong` from distinct recorded models, each the key on
    30-70% of the questions) and 1-4 of the table's other models as recorded."""
    if table.n_models < 3:
        raise DataError(f"a frontier pool needs at least 3 recorded models, got {table.n_models}")
    bases = _pick(rng, list(table.models), int(rng.integers(2, 5)))
    out, members, changes = table, [], []
    for k, base in enumerate(bases):
        share, strong = float(rng.uniform(0.3, 0.7)), f"{base}+key{k + 1}"
        out = add_strong(out, base, share, rng, strong, spread)
        members.append(strong)
        changes.append(f"{strong}: the key on the {share:.0%} of questions easiest for it, else {base}'s answer")
    rest = [m for m in table.models if m not in bases]
    members += _pick(rng, rest, int(rng.integers(1, 5)))
    return StressPool(name, "frontier", out.select_models(members), tuple(changes))


def frontier_suite(table: ResponseTable, n_pools: int, seed: int, spread: float | None = 0.25) -> list[StressPool]:
    """``n_pools`` seeded :func:`frontier_pool` pools from ``table``'s recorded answers."""
    rng = np.random.default_rng([seed, 0xF207])
    return [frontier_pool(table, rng, f"frontier-{i}", spread) for i in range(n_pools)]


def _pick(rng: np.random.Generator, names: list[str], n: int) -> list[str]:
    return sorted(rng.choice(names, size=min(n, len(names)), replace=False).tolist())


def stress_pool(table: ResponseTable, kind: str, rng: np.random.Generator, name: str = "") -> StressPool:
    """One seeded pool of ``kind`` (:data:`KINDS`) from ``table``'s models (see the module docstring)."""
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {KINDS}, got {kind!r}")
    acc = dict(zip(table.models, table.accuracy().tolist()))
    best = max(acc.values())
    # a strong model needs at least 3 weak ones below it (on a small table not every near-best model has them)
    strong_candidates = [m for m, a in acc.items() if a >= best - STRONG_WITHIN
                         and sum(b <= a - WEAK_BELOW for b in acc.values()) >= 3] or [max(acc, key=acc.get)]
    strong = str(rng.choice(strong_candidates))
    weak = [m for m, a in acc.items() if a <= acc[strong] - WEAK_BELOW]
    if len(weak) < 3:
        raise DataError(f"a stress pool needs at least 3 models weaker than {strong} by {WEAK_BELOW}, "
                        f"got {len(weak)}")
    changes: list[str] = []
    if kind == "clones":
        members = [strong] + _pick(rng, weak, int(rng.integers(1, 3)))
    elif kind == "lone_strong":
        members = [strong] + _pick(rng, weak, int(rng.integers(3, 6)))
    else:
        members = _pick(rng, strong_candidates, int(rng.integers(1, 3))) + _pick(rng, weak, int(rng.integers(3, 7)))
        members = list(dict.fromkeys(members))
    out = table  # every change is made on the whole table, the pool's members are selected at the end
    members_weak = [m for m in members if m in weak]
    if kind in ("clones", "lone_strong"):
        source = str(rng.choice(members_weak))
        others = [m for m in weak if m != source]
        for k in range(int(rng.integers(2, 4)) if kind == "clones" else int(rng.integers(1, 4))):
            base, share, clone = str(rng.choice(others)), float(rng.uniform(0.3, 0.6)), f"{source}~clone{k + 1}"
            out = add_clone(out, source, base, share, rng, clone)
            members.append(clone)
            members_weak.append(clone)
            changes.append(f"{clone}: {source}'s answer on {share:.0%} of questions, else {base}'s")
    n_changed = max(1, len(members_weak) // 2 + (kind == "lone_strong"))
    if kind in ("position_bias", "lone_strong"):
        for m in _pick(rng, members_weak, n_changed):
            share = float(rng.uniform(0.2, 0.5))
            out = with_position_bias(out, m, share, rng)
            changes.append(f"{m}: {share:.0%} of its wrong answers moved to A")
    if kind in ("missing", "lone_strong"):
        for m in _pick(rng, members_weak, n_changed):
            share = float(rng.uniform(0.15, 0.4))
            out = with_missing(out, m, share, rng)
            changes.append(f"{m}: {share:.0%} of its wrong answers dropped (no answer)")
    out = out.select_models(members)
    return StressPool(name or kind, kind, out, tuple(changes))


def stress_suite(table: ResponseTable, n_pools: int, seed: int) -> list[StressPool]:
    """``n_pools`` seeded pools, the kinds in turn (:data:`KINDS`), each from ``table``'s recorded answers."""
    rng = np.random.default_rng([seed, 0x57E55])
    return [stress_pool(table, KINDS[i % len(KINDS)], rng, name=f"{KINDS[i % len(KINDS)]}-{i}")
            for i in range(n_pools)]
