"""A separate process that registers (and promotes) a router, for the kill and concurrency tests.

    python -m tests.rgd.tracking.registry_child BUNDLE_DIR NAME TOP1 [--kill-after-version] [--barrier DIR N]
        [--slow-reads SECONDS]

``--kill-after-version`` SIGKILLs this process the moment the registry store has created the model version
(what a kill at the worst moment of ``register_router`` leaves behind). ``--barrier DIR N`` waits, after
registering, until N processes have registered, so that their promotions overlap. ``--slow-reads`` makes
every read of an alias take that long, which widens the read-check-write window of a promotion.
Prints ``RESULT {json}`` with the version and the decision.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("name")
    ap.add_argument("top1", type=float)
    ap.add_argument("--kill-after-version", action="store_true")
    ap.add_argument("--barrier", nargs=2, default=None)
    ap.add_argument("--slow-reads", type=float, default=0.0)
    args = ap.parse_args()

    import mlflow
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    if args.kill_after_version:
        original = SqlAlchemyStore.create_model_version

        def create_then_die(self, *a, **kw):
            out = original(self, *a, **kw)
            os.kill(os.getpid(), signal.SIGKILL)
            return out

        SqlAlchemyStore.create_model_version = create_then_die
    if args.slow_reads:
        read = mlflow.MlflowClient.get_model_version_by_alias

        def slow_read(self, *a, **kw):
            out = read(self, *a, **kw)
            time.sleep(args.slow_reads)
            return out

        mlflow.MlflowClient.get_model_version_by_alias = slow_read

    import inspect

    from rgd.tracking import configure_mlflow, log_router, promote

    # the baseline gate where this rgd has it (the same child runs against older checkouts, to show the bugs)
    gate = {"must_beat": ["best_single"]} if "must_beat" in inspect.signature(promote).parameters else {}
    configure_mlflow()
    rv = log_router(args.bundle, model_name=args.name, metrics={"top1": args.top1, "best_single.top1": 0.1},
                    tags={"test_set_id": "t", "generator": f"g{args.top1}"})
    if args.barrier:
        directory, n = Path(args.barrier[0]), int(args.barrier[1])
        (directory / f"ready-{os.getpid()}").write_text(rv.version)
        deadline = time.monotonic() + 120
        while len(list(directory.glob("ready-*"))) < n and time.monotonic() < deadline:
            time.sleep(0.05)
    decision = promote(args.name, rv.version, test_set_id="t", **gate)
    print("RESULT " + json.dumps({"version": rv.version, **decision.to_dict()}), flush=True)


if __name__ == "__main__":
    main()
