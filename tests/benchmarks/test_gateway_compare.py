"""A smoke run of benchmarks/gateway_compare.py: a few requests through the passthrough proxy and LiteLLM.

Seconds, not the benchmark: the comparison's numbers come from the full run (benchmarks/README.md). The LiteLLM
part skips when no Python with ``litellm[proxy]`` is found (``--litellm-python``; by default this one, else
``.venv-litellm``)."""

from __future__ import annotations

import pytest

from benchmarks import gateway_compare as bench


def test_the_summary_takes_ratios_within_a_repeat_and_refuses_a_non_positive_baseline():
    rows = [{"system": s, "workload": "distinct", "repeat": r, "concurrency": 32, "errors": 0, "rps": rps,
             "added_p50_ms": p50, "added_p99_ms": p99}
            for s, r, rps, p50, p99 in [("passthrough", 0, 400.0, 2.0, 4.0), ("rgd-tfidf", 0, 380.0, 3.0, 5.0),
                                        ("passthrough", 1, 420.0, -0.5, 2.0), ("rgd-tfidf", 1, 390.0, 2.0, 8.0)]]
    [floor, tfidf] = bench.summarise(rows, ["passthrough", "rgd-tfidf"], levels=((32, 1000),))
    assert floor["rps"]["median"] == 410.0 and floor["rps"]["runs"] == [400.0, 420.0]
    assert tfidf["added_p99_ms_vs_passthrough"]["runs"] == [1.25, 4.0]
    assert tfidf["rps_vs_passthrough"]["min"] == round(390 / 420, 3)
    assert "no ratio" in tfidf["added_p50_ms_vs_passthrough"]["note"]  # the floor's -0.5 ms is no baseline


def test_the_profile_summary_puts_each_sample_in_its_innermost_frames_category():
    raw = ("main (x.py:1);run (uvicorn/server.py:2);chat (rgd/serving/app.py:3);embed (rgd/embedding/tfidf.py:4) 3\n"
           "main (x.py:1);run (uvicorn/server.py:2);chat (rgd/serving/app.py:9) 1\n")
    text = bench.summarise_stacks(raw)
    assert " 75.0%  embedding + scoring (router)" in text and " 25.0%  gateway logic (rgd/serving)" in text


@pytest.mark.parametrize("systems", [("passthrough",), ("passthrough", "litellm")], ids=["floor", "litellm"])
def test_a_quick_run_serves_every_request(systems):
    if "litellm" in systems and bench.find_litellm_python(None) is None:
        pytest.skip("no Python with litellm[proxy] (see benchmarks/README.md, 'Side by side')")
    doc = bench.run(systems_wanted=systems, embedding_variants=False, levels=((2, 6),), repeats=1)
    assert "not_started" not in doc["notes"], doc["notes"]
    assert {s["system"] for s in doc["summary"]} == set(systems)
    assert all(r["errors"] == 0 and r["requests"] == 6 for r in doc["runs"])
