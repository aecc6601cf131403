"""Shadow calls for live monitoring: a sampled share of top-1 requests also goes to the next models of the ranking.

On the request path the gateway only counts (:meth:`Shadow.seen`: the request's skill cluster and whether it was out
of distribution) and draws whether a top-1 request is sampled (:meth:`Shadow.sample`: a seeded draw, then the
bounds). A sampled request gets a launcher that the response runs once it is sent (a Starlette background task);
the launcher only schedules the shadow task, so neither the reply nor the next request on the connection waits for
it. The shadow task sends the request's body to the ``shadow_models`` models ranked after the one that answered
(those whose circuit is closed; their breakers are left alone), reads the answers, and adds one
:class:`~rgd.serving.monitor.Observation` to the served version's :class:`~rgd.serving.monitor.MonitorState`.

Bounds: at most ``max_per_s`` requests shadowed a second (a token bucket), ``max_concurrency`` shadow calls in
flight and ``budget_calls`` calls per ``budget_period_s``; a sampled request that would pass one is skipped, and
counted (``rgd_gateway_shadow_skipped_total{reason}``).

The adaptive share: while the sequential drift test's evidence (:class:`rgd.serving.drift.PluralityCusum`, fed
each shadowed request as it is recorded) is at least ``boost_evidence``, requests are drawn at ``boost_share``
instead of ``share``, so that the test decides in fewer requests; then it falls back. A boosted request is shadowed
only while a credit allows it: each upstream call earns ``max_shadow_share / (1 - max_shadow_share)`` of a shadow
call (at most ``boost_credit_calls`` kept), each shadow call spends one, so the boost never takes the shadow calls
past ``max_shadow_share`` of all upstream calls (skipped: ``share_cap``); the same draw decides both, so with no
boost the sampled requests are those of ``share`` alone. A shadow call's failure (timeout, 5xx, refused
connection, anything raised) is counted (``rgd_gateway_shadow_calls_total{result}``), never raised. Streams and
consensus requests are counted per cluster but not shadowed (a consensus request already has its votes). No user
text is kept, except the last ``keep_ood_questions`` questions out of distribution where the config asks for them
(default 0): listed by ``GET /v1/rgd/monitor?ood_questions=true`` and, on an alarm, handed to the retraining
command as a JSON-lines file named by ``$RGD_OOD_QUESTIONS_FILE``, to seed the next generation's subjects (never to
the Kubernetes Job ``drift.retrain_job`` creates: :mod:`rgd.serving.retrain`).

The estimate (:func:`rgd.serving.monitor.estimate`) is refreshed every ``refresh_s`` when new observations came in,
and on demand (``GET /v1/rgd/monitor?refresh=true``), in a process of its own (one worker, started on the first refresh): the
truth estimate on a full window (2,000 requests in 50 clusters) is 0.5-1 s of NumPy on small arrays (measured:
benchmarks/README.md, "Live monitoring"), which on a thread would hold the GIL the event loop needs (where no process can be started, it runs on a thread). The per-cluster figures are served as
Prometheus gauges (``rgd_gateway_monitor_*{cluster}``) and as JSON (:meth:`Shadow.report`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import statistics
import subprocess
import time
from collections import deque
from typing import Any, Awaitable, Callable, Iterator, Sequence

import orjson
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from rgd.serving.breaker import CLOSED
from rgd.serving.config import MonitoringSpec
from rgd.serving.drift import AGREEMENT_DROP, Alarm, PluralityCusum, accuracy_drop, ood_rise, similarity_drop
from rgd.serving.monitor import Estimate, MonitorState, estimate, observation
from rgd.serving.ratelimit import TokenBucket
from rgd.serving.retrain import RetrainJobs
from rgd.serving.upstream import OutgoingBody, Upstream, UpstreamFailure, UpstreamReply

log = logging.getLogger(__name__)

#: the environment variable naming the file of kept out-of-distribution questions, for the retraining command
OOD_QUESTIONS_ENV = "RGD_OOD_QUESTIONS_FILE"


class Shadow:
    """The gateway's live monitoring: counts, sampling, bounded shadow calls, the estimate and its report."""

    def __init__(self, spec: MonitoringSpec, upstreams: dict[str, Upstream], registry,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self.upstreams = upstreams
        self.clock = clock
        self.rng = random.Random(spec.seed)
        self.bucket = TokenBucket(spec.max_per_s, max(1, math.ceil(spec.max_per_s)), clock)
        self.state: MonitorState | None = None
        self.in_flight = 0
        self.peak_in_flight = 0
        self.budget_used = 0
        self.budget_since = clock()
        self.user_calls = 0
        self.shadow_calls = 0
        self.shadowed = 0
        self.boosted = 0  # requests shadowed by the boost (drawn past share, within boost_share)
        self.credit = 0.0  # shadow calls the boost may still spend (see the module's docstring)
        self._earn = spec.max_shadow_share / (1 - spec.max_shadow_share)
        self._credit_cap = float(spec.boost_credit_calls)
        self._boost_share = spec.boost_share
        self.skips: dict[str, int] = {}
        self.tasks: set[asyncio.Task] = set()
        self._refresher: asyncio.Task | None = None
        self._pool = None  # the estimate's process (a ProcessPoolExecutor of one worker), started when first needed
        self._lock = asyncio.Lock()
        self.calls = Counter("rgd_gateway_shadow_calls", "Shadow calls of live monitoring, by model and result (ok, "
                             "4xx, timeout, 5xx, connect, dropped, bad_response, error)", ["model", "result"],
                             registry=registry)
        self.requests = Counter("rgd_gateway_shadow_requests", "Requests shadowed (sampled and within the bounds)",
                                registry=registry)
        self.skipped = Counter("rgd_gateway_shadow_skipped", "Sampled requests not shadowed, by the bound that "
                               "stopped them (rate, concurrency, budget, no_model, share_cap)", ["reason"], registry=registry)
        self._skip = {r: self.skipped.labels(reason=r)
                      for r in ("rate", "concurrency", "budget", "no_model", "share_cap")}
        self.alarm_count = Counter("rgd_gateway_monitor_alarms", "Drift alarms of live monitoring, by kind "
                                   "(accuracy_drop, agreement_drop, agreement_cusum, ood_rise, similarity_drop)", ["kind"], registry=registry)
        self.alarms: deque[dict[str, Any]] = deque(maxlen=50)  # the last alarms, newest last
        # on Kubernetes: an alarm creates a Job from this CronJob (rgd.serving.retrain)
        self.retrain_jobs = RetrainJobs(spec.drift.retrain_job, registry) if spec.drift.retrain_job else None
        # user text, only where the config allows it: the last questions out of distribution
        self.ood_questions: deque[dict[str, Any]] | None = (
            deque(maxlen=spec.keep_ood_questions) if spec.keep_ood_questions else None)
        registry.register(_Gauges(self))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self.spec.enabled:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def stop(self) -> None:
        tasks = [t for t in (self._refresher, *self.tasks) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # ------------------------------------------------------------------ the request path
    def seen(self, version: str, models: Sequence[str], cluster: int, out_of_distribution: bool | None,
             calls: int, question: str | None = None, similarity: float | None = None) -> None:
        """Count one routed request (``calls``: the upstream calls its mode makes) in its cluster, with its
        training ``similarity`` where the router has coverage; keep its ``question`` only where it is out of
        distribution and ``keep_ood_questions`` allows it."""
        state = self.state
        if state is None or state.version != version:
            d = self.spec.drift
            state = self.state = MonitorState(version, models, self.spec.window, d.reference_requests,
                                              d.ood_requests, PluralityCusum(d.reference_requests, d.sequential_drop,
                                                                             d.sequential_threshold))
        state.count(cluster, out_of_distribution, similarity)
        self.user_calls += calls
        credit = self.credit + calls * self._earn
        self.credit = credit if credit < self._credit_cap else self._credit_cap
        if out_of_distribution and self.ood_questions is not None and question is not None:
            self.ood_questions.append({"question": question, "cluster": cluster, "at": time.time()})

    def sample(self, ranking: list[str], model: str, body: OutgoingBody, reply: UpstreamReply, question: str,
               cluster: int) -> Callable[[], Awaitable[None]] | None:
        """Whether this answered top-1 request is drawn for a shadow: None, or the launcher its response runs once
        sent. The bounds are checked, and their slots taken, by the launcher: a response that is never sent (the
        client went away) takes none. Drawn at ``share``, or at ``boost_share`` while the sequential test's evidence
        is at least ``boost_evidence``."""
        spec = self.spec
        if not spec.enabled:
            return None
        draw = self.rng.random()
        boosted = False
        if draw >= spec.share:
            if draw >= self._boost_share or not self.boosting:
                return None
            boosted = True
        state = self.state

        async def launch() -> None:
            targets = self._admit(ranking, model, boosted)
            if targets:
                task = asyncio.get_running_loop().create_task(
                    self._shadow(state, cluster, question, model, reply, targets, body))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

        return launch

    @property
    def boosting(self) -> bool:
        """Whether the sequential test's evidence is high enough for the boosted share."""
        seq = self.state.sequential if self.state is not None else None
        return seq is not None and seq.evidence >= self.spec.boost_evidence

    def _admit(self, ranking: list[str], model: str, boosted: bool = False) -> list[str]:
        """The models a drawn request is shadowed to, their slots taken; none (the bound counted) past a bound."""
        spec = self.spec
        after = ranking[ranking.index(model) + 1:] if model in ranking else []
        targets = [m for m in after if self.upstreams[m].breaker.state == CLOSED][: spec.shadow_models]
        if not targets:
            return self._skipped("no_model")
        if boosted and self.credit < len(targets):
            return self._skipped("share_cap")
        if self.in_flight + len(targets) > spec.max_concurrency:
            return self._skipped("concurrency")
        if spec.budget_period_s is not None and self.clock() - self.budget_since >= spec.budget_period_s:
            self.budget_used, self.budget_since = 0, self.clock()
        if self.budget_used + len(targets) > spec.budget_calls:
            return self._skipped("budget")
        if self.bucket.take() > 0:
            return self._skipped("rate")
        self.in_flight += len(targets)
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self.budget_used += len(targets)
        self.credit -= len(targets)
        self.requests.inc()
        self.shadowed += 1
        self.boosted += boosted
        return targets

    def _skipped(self, reason: str) -> list[str]:
        self._skip[reason].inc()
        self.skips[reason] = self.skips.get(reason, 0) + 1
        return []

    # ------------------------------------------------------------------ off the request path
    async def _shadow(self, state: MonitorState | None, cluster: int, question: str, model: str,
                      reply: UpstreamReply, targets: list[str], body: OutgoingBody) -> None:
        try:
            answers = await asyncio.gather(*(self._call(m, body) for m in targets))
            if state is not None:
                replies = {model: reply.json(), **dict(zip(targets, answers))}
                alarm = state.add(observation(cluster, question, state.models, model, replies))
                if alarm is not None:  # the sequential test, at this shadowed request
                    await self._raise(state, alarm)
        except Exception:  # noqa: BLE001 - monitoring never fails anything; counted in the calls' results
            log.exception("monitoring: a shadowed request could not be recorded")

    async def _call(self, model: str, body: OutgoingBody) -> dict[str, Any] | None:
        up = self.upstreams[model]
        result, doc = "error", None
        try:
            reply = await asyncio.wait_for(up.chat(body), min(self.spec.timeout_s, up.spec.timeout_s))
            if reply.status < 300:
                result, doc = "ok", reply.json()
            else:
                result = "4xx"
        except UpstreamFailure as f:
            result = f.kind
        except asyncio.TimeoutError:
            result = "timeout"
        except Exception:  # noqa: BLE001 - counted, never raised
            log.debug("monitoring: shadow call to %s failed", model, exc_info=True)
        finally:
            self.in_flight -= 1
            self.shadow_calls += 1
            self.calls.labels(model=model, result=result).inc()
        return doc

    # ------------------------------------------------------------------ the estimate
    def _executor(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the gateway's process has threads (the router's, aiohttp's) a fork would copy mid-step
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def refresh(self) -> None:
        """Recompute the served version's estimate (in the estimate's process) if new observations came in; a
        failure is logged and the last estimate kept."""
        async with self._lock:
            state = self.state
            if state is None:
                return
            await self._check_ood(state)
            if not state.stale:
                return
            added, window, n_reference = state.added, state.estimate_input(), len(state.reference)
            args = (window, len(state.models), self.spec.min_requests, self.spec.seed)
            try:
                found = await asyncio.get_running_loop().run_in_executor(self._executor(), estimate, *args)
            except Exception as exc:  # noqa: BLE001 - no process (a sandbox without semaphores, a dead worker)
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None  # tried again at the next refresh
                log.warning("monitoring: the estimate's process failed (%s: %s); this estimate runs on a thread",
                            type(exc).__name__, exc)
                try:
                    found = await asyncio.to_thread(estimate, *args)
                except Exception:  # noqa: BLE001 - logged; the last estimate is kept
                    log.exception("monitoring: the estimate could not be computed; the last one is kept")
                    return
            state.last, state.last_added = found, added
            await self._check_accuracy(state, found, n_reference)

    # ------------------------------------------------------------------ drift
    async def _check_ood(self, state: MonitorState) -> None:
        d = self.spec.drift
        ref_ood, ref_n = state.ood_reference
        total = sum(state.requests.values())
        if ref_n < d.ood_requests or total < 2 * d.ood_requests:  # the recent requests are all past the reference
            return
        recent = state.ood_recent
        alarm = ood_rise(ref_ood, ref_n, sum(recent), len(recent), d.ood_rise, d.z)
        if alarm is not None:
            await self._raise(state, alarm)
        alarm = similarity_drop(state.similarity_reference, state.similarity_recent, d.similarity_shift, d.z)
        if alarm is not None:
            await self._raise(state, alarm)

    async def _check_accuracy(self, state: MonitorState, found: Estimate, n_reference: int) -> None:
        d = self.spec.drift
        if found.per_request is None or n_reference < d.reference_requests:
            return
        alarm = accuracy_drop(found.per_request, n_reference, d.recent_requests, d.accuracy_drop, d.z)
        if alarm is not None:
            await self._raise(state, alarm, found.estimator)
        if found.per_request_majority is not None:
            alarm = accuracy_drop(found.per_request_majority, n_reference, d.recent_requests, d.agreement_drop, d.z,
                                  AGREEMENT_DROP)
            if alarm is not None:
                await self._raise(state, alarm)

    async def _raise(self, state: MonitorState, alarm: Alarm, estimator: str | None = None) -> None:
        """An alarm's event: logged, counted, listed (at most once per ``cooldown_s`` per kind and version); the
        retraining command started at most once per ``cooldown_s`` and version, whatever the kind (one drift often
        raises several alarms at once: a new subject's requests both fall out of distribution and grow less
        similar; one retraining answers them all)."""
        d = self.spec.drift
        last = state.alarmed.get(alarm.kind)
        now = self.clock()
        if last is not None and now - last < d.cooldown_s:
            return
        state.alarmed[alarm.kind] = now
        event: dict[str, Any] = {**alarm.to_dict(), "router_version": state.version}
        if estimator is not None:
            event["estimator"] = estimator
        if d.retrain_command and state.retrain_started is not None and now - state.retrain_started < d.cooldown_s:
            event["retrain"] = {"command": list(d.retrain_command), "skipped": "already started for this version "
                                "within cooldown_s"}
        elif d.retrain_command:
            state.retrain_started = now
            try:
                env = None
                if self.ood_questions:  # kept only where keep_ood_questions allows: handed to the command
                    env = {**os.environ, OOD_QUESTIONS_ENV: self._write_ood_questions()}
                proc = await asyncio.create_subprocess_exec(
                    *d.retrain_command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True, env=env)
                event["retrain"] = {"command": list(d.retrain_command), "pid": proc.pid}
                if env is not None:
                    event["retrain"]["ood_questions_file"] = env[OOD_QUESTIONS_ENV]
                self.tasks.add(task := asyncio.get_running_loop().create_task(self._reap(proc, event)))
                task.add_done_callback(self.tasks.discard)
            except OSError as exc:
                event["retrain"] = {"command": list(d.retrain_command), "error": f"{type(exc).__name__}: {exc}"}
        if self.retrain_jobs is not None:  # a task of its own: the API calls never hold a refresh or a request
            event["retrain_job"] = {"cronjob": self.retrain_jobs.cronjob, "result": "pending"}
            self.tasks.add(task := asyncio.get_running_loop().create_task(self._create_job(event)))
            task.add_done_callback(self.tasks.discard)
        self.alarm_count.labels(kind=alarm.kind).inc()
        self.alarms.append(event)
        log.warning("monitoring alarm %s on router version %s: %.4f -> %.4f (z %.1f, %d vs %d shadowed requests)%s",
                    alarm.kind, state.version, alarm.reference, alarm.recent, alarm.z, alarm.n_reference,
                    alarm.n_recent, f"; retraining: {event['retrain']}" if "retrain" in event else "")

    @staticmethod
    def _similarity(state: MonitorState | None) -> dict[str, Any] | None:
        """The routed requests' training similarity (what ``similarity_drop`` compares): the median of the
        version's first ``ood_requests`` and of its last ones; None without coverage."""
        if state is None or not state.similarity_reference:
            return None
        return {"reference_median": statistics.median(state.similarity_reference),
                "recent_median": statistics.median(state.similarity_recent),
                "reference_requests": len(state.similarity_reference), "recent_requests": len(state.similarity_recent)}

    def _sequential(self, state: MonitorState | None) -> dict[str, Any] | None:
        seq = state.sequential if state is not None else None
        if seq is None:
            return None
        return {"evidence": round(seq.evidence, 4), "threshold": seq.threshold, "reference_plurality": seq.p0,
                "reference_requests": seq.n_reference, "since_evidence_was_0": seq.since[0]}

    def _write_ood_questions(self) -> str:
        """The kept out-of-distribution questions as a JSON-lines file of the user's only (mode 600); its path."""
        import tempfile

        fd, path = tempfile.mkstemp(prefix="rgd-ood-questions-", suffix=".jsonl")
        with os.fdopen(fd, "wb") as f:
            for row in self.ood_questions or ():
                f.write(orjson.dumps(row) + b"\n")
        return path

    async def _create_job(self, event: dict[str, Any]) -> None:
        alarm = {k: v for k, v in event.items() if k not in ("retrain", "retrain_job")}  # the figures only
        event["retrain_job"] = await self.retrain_jobs.create(alarm, self.spec.drift.cooldown_s)

    @staticmethod
    async def _reap(proc, event: dict[str, Any]) -> None:
        event["retrain"]["returncode"] = await proc.wait()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.spec.refresh_s)
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - the monitor keeps running; logged
                log.exception("monitoring: the estimate could not be refreshed")

    def report(self, ood_questions: bool = False) -> dict[str, Any]:
        """``GET /v1/rgd/monitor``'s body: the config's bounds, the shadow calls, per cluster the counts and the
        last estimate, the alarms; with ``ood_questions``, the out-of-distribution questions kept (none unless
        ``keep_ood_questions``)."""
        spec, state = self.spec, self.state
        total = self.user_calls + self.shadow_calls
        budget_left = max(0, spec.budget_calls - self.budget_used)
        body: dict[str, Any] = {
            "enabled": spec.enabled,
            "config": spec.model_dump(),
            "router_version": state.version if state else None,
            "since": state.started if state else None,
            "requests": sum(state.requests.values()) if state else 0,
            "out_of_distribution_share": state.ood_share() if state else None,
            "shadow": {"requests": self.shadowed, "calls": self.shadow_calls,
                       "in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight,
                       "budget_left": budget_left,
                       "share_of_upstream_calls": self.shadow_calls / total if total else 0.0,
                       "boosted": self.boosted, "boosting": self.boosting, "credit": round(self.credit, 3),
                       "skipped": {r: self.skips.get(r, 0) for r in self._skip}},
            "sequential": self._sequential(state),
            "training_similarity": self._similarity(state),
            "estimate": None, "clusters": state.cluster_rows() if state else [],
            "alarms": list(self.alarms),
            "ood_questions_kept": len(self.ood_questions) if self.ood_questions is not None else 0,
        }
        if ood_questions:
            body["ood_questions"] = list(self.ood_questions) if self.ood_questions is not None else []
        last = state.last if state else None
        if last is not None:
            o = last.overall
            body["estimate"] = {"estimator": last.estimator, "shadowed_requests": last.shadowed,
                                "computed_at": last.computed_at, "agreement": o.agreement,
                                "majority_agreement": o.majority_agreement,
                                "estimated_accuracy": o.estimated_accuracy, "error": last.error,
                                "stale": state.stale}
        return body


class _Gauges:
    """The per-cluster figures as Prometheus gauges, read from the monitor's state at each scrape."""

    _FIGURES = (
        ("requests", "Routed requests of the served version, per skill cluster"),
        ("out_of_distribution_share", "Share of the served version's requests far from every training question"),
        ("shadowed", "Requests shadowed for live monitoring, per skill cluster"),
        ("agreement", "Share of shadow answers equal to the routed model's (last estimate)"),
        ("majority_agreement", "Share of shadowed requests where the routed answer is the strict plurality"),
        ("estimated_accuracy", "Label-free estimated accuracy of the routed choice (last estimate)"),
    )

    def __init__(self, shadow: Shadow) -> None:
        self.shadow = shadow

    def describe(self) -> list:
        return []  # collected at each scrape: no fixed description (the registry then never calls collect early)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.shadow.state
        rows = state.cluster_rows() if state is not None else []
        for name, doc in self._FIGURES:
            family = GaugeMetricFamily(f"rgd_gateway_monitor_{name}", doc, labels=["cluster"])
            for row in rows:
                if row[name] is not None:
                    family.add_metric([row["cluster"]], float(row[name]))
            yield family
        s = self.shadow
        total = s.user_calls + s.shadow_calls
        yield GaugeMetricFamily("rgd_gateway_monitor_shadow_share", "Shadow calls over all upstream calls",
                                value=s.shadow_calls / total if total else 0.0)
        seq = state.sequential if state is not None else None
        yield GaugeMetricFamily("rgd_gateway_monitor_sequential_evidence", "The sequential drift test's evidence "
                                "of a drop (nats; it alarms at drift.sequential_threshold)",
                                value=seq.evidence if seq is not None else 0.0)
        last = state.last if state is not None else None
        family = GaugeMetricFamily("rgd_gateway_monitor_estimated_accuracy_overall", "Label-free estimated "
                                   "accuracy of the routed choice over every shadowed request (last estimate)",
                                   labels=["estimator"])
        if last is not None and last.overall.estimated_accuracy is not None:
            family.add_metric([last.estimator], last.overall.estimated_accuracy)
        yield family
