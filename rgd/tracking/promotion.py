"""Promotion through the MLflow Model Registry: challenger -> champion only when it is measurably better.

Every version handed to :func:`promote` gets the alias ``challenger``. It becomes ``champion`` when there is
no champion yet, or when its metric beats the champion's by more than ``margin`` on the same test set (the
``test_set_id`` tags must match; a champion measured on another test set is not compared unless forced).
Every decision -- promotion, refusal, hand promotion, rollback -- is recorded as ``promotion.*`` tags on the
model version and as a JSON document under ``promotion/`` in the version's run. A champion remembers the
champion it replaced (``promotion.previous_champion``), which is what :func:`rollback` goes back to.
"""

from __future__ import annotations

from rgd.errors import ParameterError

import json
import logging
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from rgd.tracking.config import DEFAULT_MODEL_NAME
from rgd.tracking.listing import NoRegisteredModelError

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
TEST_SET_TAG = "test_set_id"
PREVIOUS_CHAMPION_TAG = "promotion.previous_champion"


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    reason: str
    champion_before: str | None
    challenger_metric: float | None
    champion_metric: float | None
    version: str = ""
    decision: str = ""  # promoted | refused | manual | rolled_back

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


def _record(client, mv, decision: PromotionDecision, extra: dict[str, Any] | None = None) -> None:
    """Tags on the version + a JSON document in its run: every decision stays readable later."""
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
    for key in ("metric", "margin", "test_set_id"):
        if extra and key in extra:
            tags[f"promotion.{key}"] = str(extra[key])
    for k, v in tags.items():
        client.set_model_version_tag(mv.name, mv.version, k, v)
    if mv.run_id:
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        client.log_dict(mv.run_id, doc, f"promotion/{stamp}-v{mv.version}-{decision.decision}.json")
    log.info("%s v%s: %s (%s)", mv.name, mv.version, decision.decision, decision.reason)


def _make_champion(client, mv, previous) -> None:
    client.set_registered_model_alias(mv.name, CHAMPION, mv.version)
    if previous is not None and str(previous.version) != str(mv.version):
        client.set_model_version_tag(mv.name, mv.version, PREVIOUS_CHAMPION_TAG, str(previous.version))
    challenger = current_champion(mv.name, CHALLENGER, client)
    if challenger is not None and str(challenger.version) == str(mv.version):
        client.delete_registered_model_alias(mv.name, CHALLENGER)


def promote(
    model_name: str,
    version: str | int,
    *,
    metric: str = "top1",
    margin: float = 0.0,
    test_set_id: str,
    force: bool = False,
    higher_is_better: bool = True,
) -> PromotionDecision:
    """Make ``version`` the challenger, and the champion if it beats the champion; records the decision.

    ``force`` compares against a champion measured on a different test set instead of refusing.
    """
    if not test_set_id:
        raise ParameterError("promote needs the test_set_id the metrics were measured on")
    client = _client()
    mv = _version(client, model_name, version)
    client.set_registered_model_alias(model_name, CHALLENGER, mv.version)
    champion = current_champion(model_name, CHAMPION, client)
    champion_before = None if champion is None else str(champion.version)
    extra = {"metric": metric, "margin": margin, "test_set_id": test_set_id, "forced": force}
    challenger_metric = _metric(client, mv, metric)

    def decide(promoted: bool, reason: str, champion_metric: float | None = None) -> PromotionDecision:
        d = PromotionDecision(
            promoted, reason, champion_before, challenger_metric, champion_metric, str(mv.version),
            "promoted" if promoted else "refused",
        )
        if promoted:
            _make_champion(client, mv, champion)
        _record(client, mv, d, extra)
        return d

    own_set = (mv.tags or {}).get(TEST_SET_TAG)
    if own_set is None:
        client.set_model_version_tag(model_name, mv.version, TEST_SET_TAG, test_set_id)
    elif own_set != test_set_id:
        return decide(False, f"v{mv.version} was evaluated on test set {own_set!r}, not {test_set_id!r}")
    if challenger_metric is None:
        return decide(False, f"v{mv.version} has no finite {metric!r} metric in its run")
    if champion is None:
        return decide(True, f"no champion yet; v{mv.version} ({metric}={_fmt(challenger_metric)}) becomes champion")
    if champion_before == str(mv.version):
        d = PromotionDecision(False, f"v{mv.version} is already the champion", champion_before,
                              challenger_metric, challenger_metric, str(mv.version), "refused")
        _record(client, mv, d, extra)
        return d
    champion_set = (champion.tags or {}).get(TEST_SET_TAG)
    if champion_set != test_set_id and not force:
        return decide(
            False,
            f"champion v{champion_before} was evaluated on test set {champion_set!r}, this version on "
            f"{test_set_id!r}: the metrics are not comparable; re-evaluate both on one test set, or promote "
            f"by hand (`rgd promote {mv.version}`)",
        )
    champion_metric = _metric(client, champion, metric)
    if champion_metric is None:
        return decide(False, f"champion v{champion_before} has no {metric!r} metric to compare with", None)
    gain = challenger_metric - champion_metric if higher_is_better else champion_metric - challenger_metric
    verdict = (
        f"{metric} {_fmt(challenger_metric)} vs champion v{champion_before} {_fmt(champion_metric)} "
        f"on {test_set_id!r} (gain {gain:+.6g}, margin {margin:g})"
    )
    if gain > margin:
        return decide(True, f"beats the champion: {verdict}", champion_metric)
    return decide(False, f"does not beat the champion by more than the margin: {verdict}", champion_metric)


def set_alias_manually(
    model_name: str, version: str | int, alias: str = CHAMPION, *, reason: str = "set by hand"
) -> PromotionDecision:
    """Point ``alias`` at ``version`` without any metric check; recorded like every other decision."""
    client = _client()
    mv = _version(client, model_name, version)
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
