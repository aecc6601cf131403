"""Promotion through the MLflow Model Registry: challenger -> champion only when it is measurably better.

Every complete version handed to :func:`promote` gets the alias ``challenger``. It becomes ``champion`` when
its metric beats each baseline of its own run named in ``must_beat`` (default in the run config:
``best_single``) by more than ``margin``, and there is no champion yet or it beats the champion's by more
than ``margin`` on the same test set (the ``test_set_id`` tags must match; a champion measured on another
test set is not compared unless forced). On a label-free metric (``estimated_top1``, ``estimated_top3_vote``:
the estimate on held-out generated questions) the two must have been estimated on the same questions answered
by the same pool: their ``estimate_set_id`` tags must match, and a version estimated elsewhere is never
compared (not even forced: promote it by hand) -- unless the version measured that very champion again on its own
questions with its own pool (a pool change: a model added, removed or replaced; :mod:`rgd.tracking.pool_change`),
in which case the champion's re-measured metric (``champion_remeasured.<metric>`` in the version's run) is what
it is compared with, on any metric, and a champion that cannot serve the new pool at all (none of its models
remains) is replaced as if there were none; there, a baseline the re-measured champion does not beat either does
not hold the version back (:func:`baseline_waiver`). A label-free gain counts only when the generator's keys'
reading of the estimate (``<metric>_keys``, where the questions were generated) shows it too, and a first
version with no baseline to beat is not promoted on a label-free estimate whose readings disagree
(``estimate_uncertain``). A version whose registration was interrupted (no
``registration=complete`` tag) is never promoted, neither automatically nor by hand.
Every decision -- promotion, refusal, hand promotion, rollback -- is recorded as ``promotion.*`` tags on the
model version and as a JSON document under ``promotion/`` in the version's run. A champion remembers the
champion it replaced (``promotion.previous_champion``), which is what :func:`rollback` goes back to.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from rgd.config.aliases import CHALLENGER, CHAMPION, check_alias_name
from rgd.errors import ParameterError
from rgd.evaluation.estimate import ESTIMATED_PREFIX, KEYS_ARBITER_METRIC, UNCERTAIN_METRIC
from rgd.tracking.config import DEFAULT_MODEL_NAME
from rgd.tracking.listing import NoRegisteredModelError
from rgd.tracking.locking import registry_lock

log = logging.getLogger(__name__)

TEST_SET_TAG = "test_set_id"
#: the held-out questions + pool a label-free estimate was made on (rgd.workflow.estimate.estimate_set_id)
ESTIMATE_SET_TAG = "estimate_set_id"
#: "false" when the router's label-free estimate could not single out the pool's best model
#: (rgd.truth.identifiability): a label-free metric then cannot show it beats a safe alternative
IDENTIFIABLE_TAG = "identifiable"
#: a label-free metric's reading from the generator's keys (``<metric>_keys``, rgd.evaluation.estimate): where
#: the keys are rated an arbiter (metric ``estimate_keys_arbiter``), a gain counts only when that reading shows it too
KEYS_READING = "_keys"
PREVIOUS_CHAMPION_TAG = "promotion.previous_champion"
#: a pool change (rgd.tracking.pool_change): the champion version this version re-measured in its own pool, the
#: run metrics ``champion_remeasured.<metric>`` it measured, and the tags describing the change
REMEASURED_CHAMPION_TAG = "pool_change.champion"
REMEASURED_PREFIX = "champion_remeasured."
POOL_CHANGE_TAGS = {k: f"pool_change.{k}" for k in ("case", "added", "removed", "servable", "description",
                                                    "champion_pool", "rerouted_share", "estimate_on")}
REGISTRATION_TAG = "registration"
REGISTRATION_COMPLETE = "complete"
DECISION_MARK = "Promotion:"
MAX_DESCRIPTION = 5000
CAS_ATTEMPTS = 8


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    reason: str
    champion_before: str | None
    challenger_metric: float | None
    champion_metric: float | None
    version: str = ""
    decision: str = ""  # promoted | refused | manual | rolled_back | restored
    baselines: dict[str, float | None] = field(default_factory=dict)  # the run's baselines the gate checked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client():
    import mlflow

    return mlflow.MlflowClient()


def _version(client, name: str, version: str | int):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        try:
            client.get_registered_model(name)
        except MlflowException:
            raise NoRegisteredModelError(name) from None
        raise ParameterError(f"{name!r} has no version {version}") from None


def current_champion(name: str, alias: str = CHAMPION, client=None):
    """The ModelVersion holding ``alias``, or None."""
    from mlflow.exceptions import MlflowException

    client = client or _client()
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _metric(client, mv, metric: str) -> float | None:
    if not mv.run_id:
        return None
    value = client.get_run(mv.run_id).data.metrics.get(metric)
    return None if value is None or not math.isfinite(value) else float(value)


def _fmt(x: float | None) -> str:
    return "none" if x is None else f"{x:.6g}"


def description_with_decision(description: str | None, decision: PromotionDecision) -> str:
    """The version's description with its promotion line replaced by this decision's."""
    base = (description or "").split(DECISION_MARK, 1)[0].rstrip()
    verdict = {
        "promoted": "Promoted to champion",
        "refused": "Not promoted (stays challenger)",
        "manual": "Alias set by hand",
        "rolled_back": "Rolled back (no longer champion)",
        "restored": "Restored as champion",
    }.get(decision.decision, decision.decision)
    return f"{base}\n\n{DECISION_MARK} {verdict}: {decision.reason}".strip()[:MAX_DESCRIPTION]


def _record(client, mv, decision: PromotionDecision, extra: dict[str, Any] | None = None) -> None:
    """Tags on the version + a JSON document in its run + its description: every decision stays readable."""
    now = datetime.now(timezone.utc)
    doc = {"model": mv.name, "time": now.isoformat(), **decision.to_dict(), **(extra or {})}
    tags = {
        "promotion.decision": decision.decision,
        "promotion.reason": decision.reason[:4900],
        "promotion.compared_to": decision.champion_before or "none",
        "promotion.challenger_metric": _fmt(decision.challenger_metric),
        "promotion.champion_metric": _fmt(decision.champion_metric),
        "promotion.time": doc["time"],
    }
    if decision.baselines:
        tags["promotion.baselines"] = json.dumps(decision.baselines, sort_keys=True)
    for key in ("metric", "margin", "test_set_id", "pool_change"):
        if extra and key in extra:
            tags[f"promotion.{key}"] = str(extra[key])
    for k, v in tags.items():
        client.set_model_version_tag(mv.name, mv.version, k, v)
    current = client.get_model_version(mv.name, mv.version)
    client.update_model_version(mv.name, mv.version, description=description_with_decision(current.description, decision))
    if mv.run_id:
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        client.log_dict(mv.run_id, doc, f"promotion/{stamp}-v{mv.version}-{decision.decision}.json")
    log.info("%s v%s: %s (%s)", mv.name, mv.version, decision.decision, decision.reason)


def is_complete(mv) -> bool:
    """Whether the version's registration finished (lineage, test set and source run recorded with it).

    Versions are registered with every tag in one call and ``registration=complete`` among them; a version
    without it was left by an interrupted registration (or made outside rgd) and is never promoted.
    Versions registered before that tag existed count as complete when they carry ``source_run_id``, the
    tag the old registration wrote last.
    """
    tags = mv.tags or {}
    return tags.get(REGISTRATION_TAG) == REGISTRATION_COMPLETE or "source_run_id" in tags


def incomplete_reason(mv) -> str:
    return (f"v{mv.version} of {mv.name!r} is incomplete: its registration was interrupted (no "
            f"{REGISTRATION_TAG}={REGISTRATION_COMPLETE} tag, so no guaranteed lineage, test set or file digest); "
            "it is never promoted. Run the pipeline again to register a complete version.")


def _make_champion(client, mv, previous) -> None:
    client.set_registered_model_alias(mv.name, CHAMPION, mv.version)
    if previous is not None and str(previous.version) != str(mv.version):
        client.set_model_version_tag(mv.name, mv.version, PREVIOUS_CHAMPION_TAG, str(previous.version))
    challenger = current_champion(mv.name, CHALLENGER, client)
    if challenger is not None and str(challenger.version) == str(mv.version):
        client.delete_registered_model_alias(mv.name, CHALLENGER)


def comparison_tag(metric: str) -> str:
    """The version tag naming what ``metric`` was measured on: the labelled test set, or (for an estimated
    metric) the held-out questions and pool of the estimate."""
    return ESTIMATE_SET_TAG if metric.startswith(ESTIMATED_PREFIX) else TEST_SET_TAG


def _set_words(metric: str) -> tuple[str, str]:
    """(what, verb) for messages: the test set it was evaluated on, or the held-out set + pool estimated on."""
    if metric.startswith(ESTIMATED_PREFIX):
        return "held-out question set and pool", "estimated on"
    return "test set", "evaluated on"


def _gain(candidate: float, other: float, higher_is_better: bool) -> float:
    return candidate - other if higher_is_better else other - candidate


def baseline_gate(client, mv, metric: str, margin: float, must_beat: Sequence[str], higher_is_better: bool = True
                  ) -> tuple[str | None, dict[str, float | None]]:
    """The first baseline of this run the version does not beat by more than ``margin`` (with why), and
    every named baseline's value. A baseline's value is the run's ``<baseline>.<metric>`` metric (the
    evaluation's entry for that router and metric), whatever the metric is."""
    candidate = _metric(client, mv, metric)
    values = {b: _metric(client, mv, f"{b}.{metric}") for b in must_beat}
    for b, value in values.items():
        if value is None:
            return (f"its run has no {b}.{metric} metric to check the baseline gate against (evaluate {b!r} "
                    f"in the run, i.e. list it in router.baselines, or drop it from registry.must_beat)"), values
        gain = _gain(candidate, value, higher_is_better)
        if not gain > margin:
            return (f"does not beat its own baseline {b} by more than the margin: {metric} {_fmt(candidate)} vs "
                    f"{b} {_fmt(value)} in the same run (gain {gain:+.6g}, margin {margin:g})"), values
        if metric.startswith(ESTIMATED_PREFIX):
            failed = keys_disagree(client, mv, _metric(client, mv, metric + KEYS_READING),
                                   _metric(client, mv, f"{b}.{metric}{KEYS_READING}"), margin, higher_is_better,
                                   metric, f"its baseline {b}")
            if failed:
                return failed, values
    return None, values


def baseline_waiver(client, mv, metric: str, margin: float, baselines: dict[str, float | None],
                    higher_is_better: bool = True) -> str | None:
    """Why the baseline gate does not hold ``mv`` back after a pool change (None: it does). A version that does
    not beat a baseline of its run may still replace the champion when the champion, measured again on the same
    questions with the same new pool, does not beat that baseline either: keeping it would serve no better than
    the baseline, and the version must still beat it (margin, keys reading). Only for a champion that can
    serve the new pool; without a re-measure the gate holds as it always did."""
    champion = current_champion(mv.name, CHAMPION, client)
    remeasured = remeasure_of(mv, champion)
    if remeasured is None or remeasured.get("servable") == "false" or not baselines:
        return None
    champion_metric = _metric(client, mv, REMEASURED_PREFIX + metric)
    candidate = _metric(client, mv, metric)
    if champion_metric is None or candidate is None:
        return None
    for value in baselines.values():
        if value is None or _gain(champion_metric, value, higher_is_better) > margin:
            return None  # the champion beats this baseline in the new pool: the version must too
    named = ", ".join(f"{b} {_fmt(v)}" for b, v in baselines.items())
    return (f"baseline gate waived: champion v{champion.version}, measured again in this pool, does not beat its "
            f"baselines either ({metric} {_fmt(champion_metric)} vs {named})")


def keys_disagree(client, mv, candidate: float | None, other: float | None, margin: float,
                  higher_is_better: bool, metric: str, other_name: str) -> str | None:
    """Why a gain on label-free ``metric`` does not count (None: it does, a reading is missing, or ``mv``'s
    estimate did not rate the keys an arbiter): the generator's keys' reading of the candidate
    (``candidate``) does not beat ``other_name``'s (``other``). Keys rated below the pool's runner-up are not
    asked: their reading rewards resembling the generator (measured: a weak generator's keys ranked a router
    10.6 points better than best_single below it; benchmarks/README.md)."""
    if candidate is None or other is None or _metric(client, mv, KEYS_ARBITER_METRIC) != 1.0:
        return None
    gain = _gain(candidate, other, higher_is_better)
    if gain > margin:
        return None
    return (f"the generator's keys do not confirm the label-free gain over {other_name}: {metric}{KEYS_READING} "
            f"{_fmt(candidate)} vs {_fmt(other)} (gain {gain:+.6g}, margin {margin:g}); the pool's consensus and "
            "the keys disagree, so the estimate cannot show it is better")


def level_gate(client, mv, metric: str, must_beat: Sequence[str]) -> str | None:
    """Why ``mv`` cannot become the first champion on a label-free ``metric`` with no baseline to beat: its
    label-free readings disagree on the level (metric ``estimate_uncertain``), so its estimate alone says
    nothing. None: no objection (a labelled metric, a baseline named, or readings that agree)."""
    if not metric.startswith(ESTIMATED_PREFIX) or must_beat or _metric(client, mv, UNCERTAIN_METRIC) != 1.0:
        return None
    champion = current_champion(mv.name, CHAMPION, client)
    if champion is not None and not _cannot_serve(mv, champion):
        return None
    low, high = (_metric(client, mv, f"{metric}{end}") for end in ("_low", "_high"))
    return (f"v{mv.version} has nothing to be compared with (registry.must_beat is empty, no champion yet) and "
            f"its label-free {metric} is uncertain: its readings span {_fmt(low)} to {_fmt(high)}; name a "
            "baseline in registry.must_beat, settle it with a few labels (rgd check) or promote it by hand "
            "(rgd promote)")


def remeasure_of(mv, champion) -> dict[str, str] | None:
    """``mv``'s tags describing its pool change, when it measured ``champion`` again in its own pool (else None)."""
    tags = mv.tags or {}
    if champion is None or tags.get(REMEASURED_CHAMPION_TAG) != str(champion.version):
        return None
    return {k: tags[t] for k, t in POOL_CHANGE_TAGS.items() if t in tags}


def _cannot_serve(mv, champion) -> bool:
    remeasured = remeasure_of(mv, champion)
    return remeasured is not None and remeasured.get("servable") == "false"


def identifiability_gate(mv, metric: str) -> str | None:
    """Why ``mv`` cannot be promoted on a label-free ``metric`` when its router's choice of the top model is
    not identifiable without labels (None: no objection). A labelled test set's metric is evidence of its own
    and is not held back."""
    if not metric.startswith(ESTIMATED_PREFIX) or (mv.tags or {}).get(IDENTIFIABLE_TAG) != "false":
        return None
    return (f"v{mv.version}'s router could not single out the pool's best model without labels (tag "
            f"{IDENTIFIABLE_TAG}=false), so its label-free {metric} cannot show that it beats a safe alternative; "
            f"settle it with a few labels (rgd check) or promote it by hand (rgd promote)")


def promote(
    model_name: str,
    version: str | int,
    *,
    metric: str = "top1",
    margin: float = 0.0,
    test_set_id: str,
    force: bool = False,
    higher_is_better: bool = True,
    must_beat: Sequence[str] = (),
) -> PromotionDecision:
    """Make ``version`` the challenger, and the champion if it passes the gate; records the decision.

    The gate: the version must beat each baseline of its own run named in ``must_beat`` (e.g.
    ``best_single``) and the current champion, each by more than ``margin`` on ``metric``, measured on the
    same test set. ``force`` compares against a champion measured on a different test set instead of
    refusing. For an estimated metric ``test_set_id`` is the estimate's set id (held-out questions + pool;
    tag ``estimate_set_id``), and a champion estimated on another set is refused even when forced. Runs under the store's registry lock (local stores); the champion alias is re-read before and
    after it is written, so concurrent promotions against a tracking server settle on the better version.
    """
    if not test_set_id:
        raise ParameterError("promote needs the test_set_id the metrics were measured on (for an estimated "
                             "metric: the estimate_set_id of its held-out questions and pool)")
    with registry_lock():
        return _promote(model_name, version, metric=metric, margin=margin, test_set_id=test_set_id, force=force,
                        higher_is_better=higher_is_better, must_beat=tuple(must_beat))


def _promote(model_name, version, *, metric, margin, test_set_id, force, higher_is_better, must_beat):
    client = _client()
    mv = _version(client, model_name, version)
    extra = {"metric": metric, "margin": margin, "test_set_id": test_set_id, "forced": force,
             "must_beat": list(must_beat)}
    challenger_metric = _metric(client, mv, metric) if is_complete(mv) else None

    def record(promoted: bool, reason: str, champion_before: str | None, champion_metric: float | None = None,
               baselines: dict | None = None) -> PromotionDecision:
        d = PromotionDecision(promoted, reason, champion_before, challenger_metric, champion_metric,
                              str(mv.version), "promoted" if promoted else "refused", baselines or {})
        _record(client, mv, d, extra)
        return d

    if not is_complete(mv):
        return record(False, incomplete_reason(mv), None)
    client.set_registered_model_alias(model_name, CHALLENGER, mv.version)
    set_tag = comparison_tag(metric)
    what, verb = _set_words(metric)
    own_set = (mv.tags or {}).get(set_tag)
    if own_set is None:
        client.set_model_version_tag(model_name, mv.version, set_tag, test_set_id)
    elif own_set != test_set_id:
        return record(False, f"v{mv.version} was {verb} {what} {own_set!r}, not {test_set_id!r}", None)
    if challenger_metric is None:
        return record(False, f"v{mv.version} has no finite {metric!r} metric in its run", None)
    failed, baselines = baseline_gate(client, mv, metric, margin, must_beat, higher_is_better)
    waived = None
    if failed:
        waived = baseline_waiver(client, mv, metric, margin, baselines, higher_is_better)
        failed = None if waived else failed
    if not failed:
        failed = identifiability_gate(mv, metric)
    if not failed:
        failed = level_gate(client, mv, metric, must_beat)
    if failed:
        champion = current_champion(model_name, CHAMPION, client)
        _note_pool_change(extra, client, mv, champion, metric)
        return record(False, failed, None if champion is None else str(champion.version), None, baselines)
    passed = waived or "; ".join(f"beats {b} ({_fmt(v)})" for b, v in baselines.items())
    passed = f" ({passed})" if passed else ""

    for _attempt in range(CAS_ATTEMPTS):
        champion = current_champion(model_name, CHAMPION, client)
        champion_before = None if champion is None else str(champion.version)
        promoted, reason, champion_metric = _judge(client, mv, champion, metric, margin, test_set_id, force,
                                                   higher_is_better)
        _note_pool_change(extra, client, mv, champion, metric)
        if champion_before == str(mv.version):
            d = PromotionDecision(False, reason, champion_before, challenger_metric, challenger_metric,
                                  str(mv.version), "refused", baselines)
            _record(client, mv, d, extra)
            return d
        if not promoted:
            return record(False, reason, champion_before, champion_metric, baselines)
        # compare-and-set: write only if the champion is still the one compared with, then check it stuck
        again = current_champion(model_name, CHAMPION, client)
        if (None if again is None else str(again.version)) != champion_before:
            continue
        _make_champion(client, mv, champion)
        after = current_champion(model_name, CHAMPION, client)
        if after is not None and str(after.version) == str(mv.version):
            return record(True, reason + passed, champion_before, champion_metric, baselines)
    return record(False, f"the champion kept changing under concurrent promotions ({CAS_ATTEMPTS} tries); "
                  f"promote v{mv.version} again", None, None, baselines)


def _judge(client, mv, champion, metric, margin, test_set_id, force, higher_is_better
           ) -> tuple[bool, str, float | None]:
    """(promote?, why, champion's metric) for ``mv`` against ``champion`` (None: no champion yet)."""
    challenger_metric = _metric(client, mv, metric)
    if champion is None:
        return True, f"no champion yet; v{mv.version} ({metric}={_fmt(challenger_metric)}) becomes champion", None
    champion_before = str(champion.version)
    if champion_before == str(mv.version):
        return False, f"v{mv.version} is already the champion", challenger_metric
    remeasured = remeasure_of(mv, champion)
    if remeasured is not None:
        return _judge_remeasured(client, mv, champion, remeasured, metric, margin, test_set_id, higher_is_better)
    set_tag = comparison_tag(metric)
    champion_set = (champion.tags or {}).get(set_tag)
    if set_tag == ESTIMATE_SET_TAG and champion_set != test_set_id:
        return False, (
            f"champion v{champion_before} was estimated on held-out question set and pool {champion_set!r}, this "
            f"version on {test_set_id!r}: label-free estimates are comparable only on the same held-out questions "
            f"answered by the same pool, and v{mv.version} did not measure the champion again on its own (a run "
            f"whose pool differs from the champion's does: `rgd pool`, or `rgd run` with the new pool); train both on "
            f"one generated data set, or promote by hand (`rgd promote {mv.version}`)"), None
    if champion_set != test_set_id and not force:
        return False, (
            f"champion v{champion_before} was evaluated on test set {champion_set!r}, this version on "
            f"{test_set_id!r}: the metrics are not comparable; re-evaluate both on one test set, or promote "
            f"by hand (`rgd promote {mv.version}`)"), None
    champion_metric = _metric(client, champion, metric)
    if champion_metric is None:
        return False, f"champion v{champion_before} has no {metric!r} metric to compare with", None
    gain = _gain(challenger_metric, champion_metric, higher_is_better)
    verdict = (
        f"{metric} {_fmt(challenger_metric)} vs champion v{champion_before} {_fmt(champion_metric)} "
        f"on {test_set_id!r} (gain {gain:+.6g}, margin {margin:g})"
    )
    if not gain > margin:
        return False, f"does not beat the champion by more than the margin: {verdict}", champion_metric
    if set_tag == ESTIMATE_SET_TAG:
        failed = keys_disagree(client, mv, _metric(client, mv, metric + KEYS_READING),
                               _metric(client, champion, metric + KEYS_READING), margin, higher_is_better, metric,
                               f"champion v{champion_before}")
        if failed:
            return False, failed, champion_metric
    return True, f"beats the champion: {verdict}", champion_metric


def _note_pool_change(extra: dict[str, Any], client, mv, champion, metric: str) -> None:
    """Put in the decision's record which pool change it was and the champion's re-measured figures (where ``mv``
    measured this ``champion`` again in its pool; else nothing)."""
    extra.pop("pool_change", None)
    extra.pop("pool_change_detail", None)
    remeasured = remeasure_of(mv, champion)
    if remeasured is None:
        return
    names = (metric, metric + KEYS_READING, f"{metric}_low", f"{metric}_high")
    extra["pool_change"] = remeasured.get("case", "")
    extra["pool_change_detail"] = {**remeasured, "champion_version": str(champion.version),
                                   "champion_remeasured": {n: _metric(client, mv, REMEASURED_PREFIX + n)
                                                           for n in names}}


def _judge_remeasured(client, mv, champion, remeasured: dict[str, str], metric, margin, test_set_id,
                      higher_is_better) -> tuple[bool, str, float | None]:
    """(promote?, why, champion's metric) against a champion ``mv`` measured again on its own questions with its
    own pool (a pool change): the same rules as on one set, the champion's figures being the re-measured ones."""
    challenger_metric = _metric(client, mv, metric)
    champion_before = str(champion.version)
    change = remeasured.get("description") or remeasured.get("case", "pool change")
    if remeasured.get("servable") == "false":
        return True, (f"champion v{champion_before} cannot serve v{mv.version}'s pool ({change}); v{mv.version} "
                      f"({metric}={_fmt(challenger_metric)}) becomes champion"), None
    champion_metric = _metric(client, mv, REMEASURED_PREFIX + metric)
    if champion_metric is None:
        return False, (f"champion v{champion_before} was measured again in v{mv.version}'s pool ({change}) but not "
                       f"on {metric!r}: nothing to compare with"), None
    what = "test set" if not metric.startswith(ESTIMATED_PREFIX) else (
        "test questions (keys hidden)" if remeasured.get("estimate_on") == "test" else "held-out questions")
    verdict = (f"{metric} {_fmt(challenger_metric)} vs champion v{champion_before} {_fmt(champion_metric)}, the "
               f"champion measured again on this version's {what} {test_set_id!r} with this version's pool "
               f"({change}) (gain {_gain(challenger_metric, champion_metric, higher_is_better):+.6g}, margin "
               f"{margin:g})")
    if not _gain(challenger_metric, champion_metric, higher_is_better) > margin:
        return False, f"does not beat the champion by more than the margin: {verdict}", champion_metric
    if metric.startswith(ESTIMATED_PREFIX):
        failed = keys_disagree(client, mv, _metric(client, mv, metric + KEYS_READING),
                               _metric(client, mv, REMEASURED_PREFIX + metric + KEYS_READING), margin,
                               higher_is_better, metric, f"champion v{champion_before} (measured again in this pool)")
        if failed:
            return False, failed, champion_metric
    return True, f"beats the champion: {verdict}", champion_metric


def set_alias_manually(
    model_name: str, version: str | int, alias: str = CHAMPION, *, reason: str = "set by hand"
) -> PromotionDecision:
    """Point ``alias`` at ``version`` without any metric check; recorded like every other decision.

    An incomplete version (interrupted registration) is refused.
    """
    check_alias_name(alias)
    with registry_lock():
        client = _client()
        mv = _version(client, model_name, version)
        if not is_complete(mv):
            raise ParameterError(incomplete_reason(mv))
        before = current_champion(model_name, alias, client)
        before_v = None if before is None else str(before.version)
        if alias == CHAMPION:
            _make_champion(client, mv, before)
        else:
            client.set_registered_model_alias(model_name, alias, mv.version)
        d = PromotionDecision(True, f"{alias} set by hand: {reason}", before_v, None, None, str(mv.version), "manual")
        _record(client, mv, d, {"alias": alias})
        return d


def rollback(model_name: str = DEFAULT_MODEL_NAME, *, reason: str = "rolled back by hand") -> PromotionDecision:
    """Give ``champion`` back to the champion the current one replaced (``promotion.previous_champion``)."""
    with registry_lock():
        return _rollback(model_name, reason)


def _rollback(model_name: str, reason: str) -> PromotionDecision:
    client = _client()
    champion = current_champion(model_name, CHAMPION, client)
    if champion is None:
        try:
            client.get_registered_model(model_name)
        except Exception:  # noqa: BLE001
            raise NoRegisteredModelError(model_name) from None
        raise ParameterError(f"{model_name!r} has no champion to roll back")
    previous = (champion.tags or {}).get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise ParameterError(
            f"champion v{champion.version} of {model_name!r} replaced no earlier champion: nothing to roll back to"
        )
    target = _version(client, model_name, previous)
    if not is_complete(target):
        raise ParameterError(incomplete_reason(target))
    client.set_registered_model_alias(model_name, CHAMPION, target.version)
    out = PromotionDecision(
        True, f"champion v{champion.version} -> v{target.version}: {reason}", str(champion.version),
        None, None, str(target.version), "rolled_back",
    )
    _record(client, champion, PromotionDecision(
        False, f"rolled back to v{target.version}: {reason}", str(champion.version), None, None,
        str(champion.version), "rolled_back",
    ))
    _record(client, target, PromotionDecision(
        True, f"restored as champion, replacing v{champion.version}: {reason}", str(champion.version), None, None,
        str(target.version), "restored",
    ))
    return out


def decision_json(decision: PromotionDecision) -> str:
    return json.dumps(decision.to_dict(), indent=1)
