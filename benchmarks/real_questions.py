"""Real questions against the default run's router: do they land in their subject, rank the niche's champion
first, and escape the out-of-distribution note, while unrelated texts get it? (issue 25, 3)

    python benchmarks/real_questions.py [--embedder tfidf|minilm] [--output FILE]

Trains `rgd run`'s default config (configs/default.yaml) in process, with the training pipeline's stages
(:func:`train_default`: generation, the pool's answers, the filter and its hold-out, consensus, the embedder,
the product's router and its coverage), then routes the README's questions, the hand-written questions of
``tests/rgd/simulated/test_lexicon.py`` (per subject of the world) and a few texts of no subject of the world.
Per question: the subject of its nearest training question, whether the first-ranked model is the champion of
the niche the world places it in (:meth:`rgd.simulated.chat.ChatAnswerer.niche`), its training similarity and
whether it is flagged out of distribution.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rgd import workflow as stages
from rgd.config.run_file import load_run_file
from rgd.embedding.vectors import normalize_rows
from rgd.routers.bundle import RouterBundle
from rgd.routers.coverage import Coverage
from rgd.simulated.chat import ChatAnswerer
from rgd.simulated.pool import SimulatedPool
from rgd.workflow.estimate import holdout_stage

README_QUESTIONS = ("Which enzyme unwinds DNA during replication?", "Which enzyme unwinds DNA?")
UNRELATED = ("Fluffy buttermilk pancake batter recipe",
             "How do you make a fluffy pancake batter with buttermilk?",
             "What is the best way to season a cast iron skillet before roasting vegetables?",
             "Which football team won the most championships last decade?")


def train_default(embedder: str | None, cache_dir: Path):
    """The default run's world, pool, router bundle and training questions' (subjects, embeddings), in process
    (``embedder``: the config's kind replaced; ``cache_dir``: the embedding cache, alive while the bundle is used)."""
    config, _ = load_run_file(REPO / "configs" / "default.yaml")
    if embedder is not None:
        config = config.model_copy(update={"embedder": config.embedder.model_copy(update={"kind": embedder})})
    generated, self_answers = stages.generate_stage(config, progress=False)
    test = stages.load_test_set(config)
    world = stages.SimulatedSource(config).world(generated, test)
    pool = SimulatedPool(world, config.simulated.pool)
    kept, table, _ = stages.filter_stage(config.filter, generated, pool.answer_table(list(generated.questions)),
                                         self_answers, consensus_temperature=config.consensus.temperature)
    kept, table, _, _ = holdout_stage(kept, table, config.evaluation.holdout_fraction, config.seed)
    consensus = stages.consensus_stage(config.consensus, table, config.seed)
    fitted, train_x, _ = stages.embed_stage(config.embedder, kept, test, cache_dir=cache_dir)
    routers = stages.train_stage(config.router, stages.TrainingData.build(table, train_x, consensus, generated=True),
                                 config.seed)
    bundle = RouterBundle(routers.main, fitted, coverage=Coverage.fit(train_x.vectors, seed=config.seed))
    return world, pool, bundle, [q.subject for q in kept.questions], train_x.vectors


def real_questions() -> dict[str, list[str]]:
    """The hand-written questions per subject of tests/rgd/simulated/test_lexicon.py, read from its source (not
    imported: the benchmark also runs on a checkout from before the lexicon, for a before/after)."""
    tree = ast.parse((REPO / "tests" / "rgd" / "simulated" / "test_lexicon.py").read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "REAL_QUESTIONS")
    return ast.literal_eval(node.value)


def measure(embedder: str, cache_dir: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    world, pool, bundle, train_subjects, train_x = train_default(embedder, cache_dir)
    questions = real_questions()
    answerer = ChatAnswerer(pool)
    asked = [("biology", q, "readme") for q in README_QUESTIONS]
    asked += [(s, q, "real") for s in world.subjects for q in questions[s]]
    asked += [(None, q, "unrelated") for q in UNRELATED]
    texts = [q for _, q, _ in asked]
    nearest = np.argmax(normalize_rows(bundle.embedder.embed(texts)) @ normalize_rows(train_x).T, axis=1)
    rows = []
    for (subject, text, kind), routed, near in zip(asked, bundle.route(texts), nearest.tolist()):
        niche, known = answerer.niche(text)
        rows.append({"kind": kind, "question": text, "subject": subject, "nearest_subject": train_subjects[near],
                     "niche": world.niches[niche].name if known else None, "top1": routed["models"][0],
                     "niche_champion": pool.names[pool.champions[niche]] if known else None,
                     "training_similarity": round(routed["training_similarity"], 4),
                     "out_of_distribution": routed["out_of_distribution"]})

    def share(kind: str, test) -> float:
        of = [r for r in rows if r["kind"] == kind]
        return round(float(np.mean([bool(test(r)) for r in of])), 4)

    summary = {kind: {"n": sum(r["kind"] == kind for r in rows),
                      "nearest_subject_right": share(kind, lambda r: r["nearest_subject"] == r["subject"]),
                      "top1_is_niche_champion": share(kind, lambda r: r["top1"] == r["niche_champion"]),
                      "out_of_distribution": share(kind, lambda r: r["out_of_distribution"])}
               for kind in ("readme", "real", "unrelated")}
    return {"embedder": embedder, "threshold": round(bundle.coverage.threshold, 4), "summary": summary,
            "rows": rows, "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="tfidf", choices=("tfidf", "minilm"))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rgd-realq-") as tmp:
        doc = measure(args.embedder, Path(tmp))
    print(f"{args.embedder}: threshold {doc['threshold']}")
    for kind, s in doc["summary"].items():
        print(f"  {kind:9s} n={s['n']:2d}  nearest subject right {s['nearest_subject_right']:.2f}  "
              f"top-1 = niche champion {s['top1_is_niche_champion']:.2f}  flagged {s['out_of_distribution']:.2f}")
    for r in doc["rows"]:
        if r["kind"] != "real":
            print(f"  {'OOD' if r['out_of_distribution'] else 'in '} {r['training_similarity']:.2f}  {r['top1']:24s} "
                  f"{r['question']}")
    if args.output:
        args.output.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
