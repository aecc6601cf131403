"""``rgd check``: settle the label-free choice of a recorded pool's router with a few labels the user gives.

Two calls, the user in between: :func:`ask` fits the product's router on the train split as ``rgd run`` would
(:func:`contest`: its defaults, the keys hidden, the embedder given), reports whether its choice is identifiable
without labels (:func:`rgd.truth.identifiability`) and writes at most ``n`` questions, chosen where the
contenders answer differently (:mod:`rgd.few_labels`), as a CSV with an empty ``key`` column; :func:`settle`
fits the same router again (deterministic; the embeddings come from the cache), reads the filled-in file (CSV or
JSONL: ``question_id``, ``key``) and names the contender the labels favour.

The contenders: where the router ranks the models pool-wide, the models of
:attr:`rgd.truth.Identifiability.contenders`; where it routes locally, the local routing itself
(:data:`rgd.few_labels.ROUTING`: what would be served) against the pool-wide leader where that is settled, and
against those models where the leader copies (a doubt its local wins share); the labels' majority decides, unless
a generator's key anchored the routing (:mod:`rgd.few_labels`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from rgd import few_labels
from rgd.config.run_config import EmbedderSpec, RunConfig
from rgd.data.recorded import RecordedDataset, load_recorded
from rgd.data.response_table import ResponseTable
from rgd.data.schema import index_to_letter, letter_to_index
from rgd.data.versioned_json import atomic_file
from rgd.errors import DataError, ParameterError
from rgd.routers.registry import DEFAULT_ROUTER
from rgd.workflow.recorded import embed_with, training_data
from rgd.workflow.train import fit_routers

LABEL_COLUMNS = ("question_id", "key")
#: the router is fitted as ``rgd run`` fits it by default: the run config's embedder and seed
DEFAULT_EMBEDDER = EmbedderSpec().kind
ROUTER_SEED = RunConfig.model_fields["seed"].default
#: (train texts) -> (Q, d) embeddings of the train questions
TrainEmbed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Contest:
    """Who the few labels decide between, as the router fitted without labels sees them."""

    #: the contenders' names, the label-free choice first (:data:`rgd.few_labels.ROUTING` for a local routing)
    names: tuple[str, ...]
    #: (K, Q) each contender's answers to the train questions (-1: none)
    answers: np.ndarray
    #: whether the labels overturn the label-free choice only beyond chance: an identifiable leader, or a local
    #: routing whose estimate a generator's key anchored
    settled: bool
    #: the router's identifiability report (what ``rgd run`` reports of it)
    identifiability: dict[str, Any]
    #: each pool model's estimated accuracy on the train questions, label-free
    estimated_accuracy: dict[str, float]
    #: the router's routing level (``global``, ``subject``, ``clusters``)
    level: str
    #: "subject" or "skill cluster" where the first contender is the router's local routing, else None
    local: str | None = None


def contest(table: ResponseTable, train_x: np.ndarray, seed: int = ROUTER_SEED,
            params: dict[str, Any] | None = None, generator_keys: np.ndarray | None = None) -> Contest:
    """Fit the product's router (its defaults, or ``params``) on ``table``'s votes, the keys hidden, and
    ``train_x`` (its questions' embeddings); the contenders its choice leaves to the labels. ``generator_keys``:
    a generator's answers to the questions, data the router may weigh as ``rgd run`` does (none for
    ``rgd check``)."""
    keys = np.full(table.n_questions, -1) if generator_keys is None else np.asarray(generator_keys)
    data = training_data(table.with_answers(keys), train_x, seed=seed, generated=generator_keys is not None)
    fitted, _ = fit_routers([DEFAULT_ROUTER], {DEFAULT_ROUTER: params or {}}, data.training_set, seed=seed)
    router = fitted[DEFAULT_ROUTER]
    summary = router.summary()
    ident, report, acc = router.identifiability_, summary["identifiability"], summary["estimated_accuracy"]
    settled, competing = bool(report["identifiable"]), np.array(ident.contenders)
    if router.level_ != "global":
        routed = few_labels.routed_answers(table.choices, router.rank(train_x)[:, 0])
        if (routed != table.choices[ident.leader]).any():
            # settled: the routing against the leader; in doubt (the leader copies): against the models in doubt.
            # The routing's own gains are settled only where the generator's key anchored the estimate they rest
            # on; otherwise they rest on the crowd, and the labels' majority decides
            others = competing[:1] if settled else competing
            return Contest((few_labels.ROUTING, *(table.models[i] for i in others)),
                           np.vstack([routed, table.choices[others]]), settled and router.key_anchor_, report, acc,
                           router.level_, "subject" if router.level_ == "subject" else "skill cluster")
        settled = ident.identifiable  # its first choices are the leader's answers: a pool-wide choice after all
    return Contest(tuple(table.models[i] for i in competing), table.choices[competing], settled, report, acc,
                   router.level_)


def embed_train(embedder: str = DEFAULT_EMBEDDER, cache_dir: str | Path | None = None, **params: Any) -> TrainEmbed:
    """The named embedder (``params``: its parameters, as a run config's ``embedder.params``), fitted on the train
    texts and embedding them through the cache."""
    embed = embed_with(embedder, cache_dir, **params)
    return lambda texts: embed(texts, [])[0]


@dataclass(frozen=True)
class RouterFit:
    """How the check fits the router: as ``rgd run`` would with a run config's embedder, router parameters and
    seed (:func:`from_config`), or the defaults."""

    #: the train questions' embedder (None: :func:`embed_train`'s default)
    embed: TrainEmbed | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = ROUTER_SEED


def from_config(config: Any, cache_dir: str | Path | None = None) -> tuple[RecordedDataset, RouterFit]:
    """The pool and the router fit of a recorded run config (a :class:`rgd.config.run_config.RunConfig` read as
    ``rgd run`` reads it): its directory and models, embedder, router parameters and seed."""
    if config.pipeline != "recorded" or config.recorded is None:
        raise ParameterError(f"the run config is a {config.pipeline} pipeline config; rgd check settles a recorded "
                             "pool's router (pipeline: recorded, recorded: {dir: ...})")
    if config.router.name != DEFAULT_ROUTER:
        raise ParameterError(f"the run config trains the {config.router.name!r} router; rgd check settles the "
                             f"choice of {DEFAULT_ROUTER!r}, the product's label-free router")
    data = load_recorded(config.recorded.dir, config.recorded.models)
    embed = embed_train(config.embedder.kind, cache_dir, **config.embedder.params)
    return data, RouterFit(embed, dict(config.router.params), config.seed)


def _train(data: RecordedDataset | str | Path) -> tuple[list, ResponseTable]:
    ds = data if isinstance(data, RecordedDataset) else load_recorded(data)
    questions, table = ds.part("train")
    return questions, table.with_answers(np.full(table.n_questions, -1))  # the keys stay hidden


def _contest(questions: list, table: ResponseTable, fit: RouterFit | None) -> Contest:
    fit = fit or RouterFit()
    return contest(table, (fit.embed or embed_train())([q.text for q in questions]), fit.seed, fit.params)


def ask(data: RecordedDataset | str | Path, output: Path, n: int = few_labels.DEFAULT_QUESTIONS,
        seed: int = 0, fit: RouterFit | None = None) -> dict[str, Any]:
    """Write the questions to label to ``output`` (CSV); the report says who competes and why. ``fit``: how the
    router is fitted (default: :class:`RouterFit`'s, the run config's defaults); ``seed``: the draw of the questions."""
    questions, table = _train(data)
    c = _contest(questions, table, fit)
    asked = few_labels.questions_to_ask(c.answers, np.arange(len(c.names)), n, seed)
    with atomic_file(output, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*LABEL_COLUMNS, "subject", "question", "options", *(f"answer_of:{m}" for m in c.names)])
        for q in asked:
            qu = questions[q]
            opts = " | ".join(f"{index_to_letter(i)}. {o}" for i, o in enumerate(qu.options))
            picks = [index_to_letter(int(a)) if a >= 0 else "" for a in c.answers[:, q]]
            w.writerow([qu.id, "", qu.subject, qu.text, opts, *picks])
    return {"identifiability": c.identifiability, "candidates": list(c.names),
            "local_routing": c.local, "n_asked": int(len(asked)), "questions_file": str(output),
            "estimated_accuracy": c.estimated_accuracy}


def read_labels(path: Path) -> dict[str, str]:
    """{question id: key letter} from a CSV (header with question_id, key) or JSONL file; empty keys skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the labels file ({exc.strerror})", path=path) from None
    except UnicodeDecodeError:
        raise DataError("the labels file is not UTF-8 text", path=path) from None
    rows: list[tuple[int, dict]] = []
    if path.suffix == ".jsonl":
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"not JSON ({exc.msg})", path=path, row=i) from None
                if not isinstance(obj, dict):
                    raise DataError("each row must be an object with question_id and key", path=path, row=i)
                rows.append((i, obj))
    else:
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"the CSV header must name {list(LABEL_COLUMNS)}; missing {missing}", path=path)
        rows = [(i, r) for i, r in enumerate(reader, 2)]
    labels: dict[str, str] = {}
    for i, r in rows:
        qid, key = str(r.get("question_id", "")).strip(), r.get("key")
        key = "" if key is None else str(key).strip()
        if not qid:
            raise DataError("a row without question_id", path=path, row=i)
        if not key:
            continue
        try:
            letter_to_index(key)
        except ParameterError:
            raise DataError(f"key {key!r} of question {qid!r} is not an option letter", path=path, row=i) from None
        if qid in labels and labels[qid] != key.upper():
            raise DataError(f"question {qid!r} has two different keys", path=path, row=i)
        labels[qid] = key.upper()
    return labels


def settle(data: RecordedDataset | str | Path, labels_path: Path, fit: RouterFit | None = None) -> dict[str, Any]:
    """Re-decide the router's choice with the user's keys (``fit``: the same as :func:`ask`'s); the report says
    whether the labels changed it."""
    questions, table = _train(data)
    labels = read_labels(labels_path)
    if not labels:
        raise DataError("no key is filled in; write each question's key letter in the key column", path=labels_path)
    known = set(table.question_ids)
    unknown = [q for q in labels if q not in known]
    if unknown:
        raise DataError(f"{len(unknown)} labelled questions are not in the train split (first: {unknown[:3]})",
                        path=labels_path)
    cols = table.positions(labels)
    keys = np.array([letter_to_index(k) for k in labels.values()])
    bad = keys >= table.n_options[cols]
    if bad.any():
        qid = list(labels)[int(np.flatnonzero(bad)[0])]
        raise DataError(f"the key of question {qid!r} names an option it does not have", path=labels_path)
    c = _contest(questions, table, fit)
    decision = few_labels.decide(c.answers, np.arange(len(c.names)), cols, keys, settled=c.settled)
    leader, before, favoured = (c.names[i] for i in (decision.leader, decision.label_free_leader, decision.favoured))
    p = f"sign test p = {decision.p_value:.3f}"
    if c.local is not None and decision.changed:
        how = " (router params levels: global)" if leader == c.names[1] else ""
        verdict = (f"The labels favour {leader} on every question over the local routing per {c.local} ({p}): its "
                   f"local gains do not hold; send every question to {leader}{how}")
    elif decision.changed:
        verdict = f"The labels change the top model: {leader} (was {before}; {p})"
    elif favoured != leader:
        stays = f"the local routing per {c.local} stays" if c.local else f"the top model stays {leader}"
        verdict = (f"The labels lean to {favoured}, but not beyond chance ({p}, needs < {few_labels.SIGNIFICANCE}): "
                   f"{stays}; label more questions to settle it")
    else:
        verdict = (f"The labels confirm the local routing per {c.local} over {', '.join(c.names[1:])}" if c.local
                   else f"The labels confirm the top model: {leader}")
    return {"leader": leader, "label_free_leader": before, "changed": decision.changed, "local_routing": c.local,
            "favoured_by_labels": favoured, "p_value": round(decision.p_value, 4), "n_labels": decision.n_labels,
            "right_on_labels": {c.names[i]: k for i, k in decision.correct.items()},
            "identifiability_without_labels": c.identifiability, "sentence": verdict}
