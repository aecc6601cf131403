"""The README's example questions after the default run (issue 25, 3): `rgd run`'s stages on configs/default.yaml
in process (benchmarks/real_questions.py's train_default: generation, the pool's answers, the filter and its
hold-out, consensus, TF-IDF, the product's router and its coverage, as the training pipeline runs them), then
the README's `rgd route` and gateway questions: each ranks first the specialist the world made champion of
biology's molecular-genetics niche, with no out-of-distribution note. In made-up words the question shared only
the templates' filler words with the world, and ranked first a model of no particular skill for it
(sim-specialist-econ-1 at commit e596b2f)."""

from __future__ import annotations

import re

import pytest

from benchmarks.real_questions import train_default
from rgd.simulated.chat import ChatAnswerer
from tests.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
GENETICS = "biology/molecular_genetics"


def readme_questions() -> list[str]:
    """Every question the README routes or sends to the gateway: `rgd route "..."` and a chat message's content."""
    found = re.findall(r'rgd route "([^"]+)"', README) + re.findall(r'"content": "([^"]+)"', README)
    return sorted({q for q in found if q != "QUESTION"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    world, pool, bundle, _, _ = train_default(None, tmp_path_factory.mktemp("emb"))
    return world, pool, bundle


def test_the_readme_s_questions_rank_the_genetics_specialist_first_with_no_note(trained):
    world, pool, bundle = trained
    questions = readme_questions()
    assert "Which enzyme unwinds DNA during replication?" in questions and len(questions) >= 2
    genetics = next(n.id for n in world.niches if n.name == GENETICS)
    champion = pool.names[pool.champions[genetics]]
    assert pool.skills[pool.champions[genetics], genetics] == pool.skills[:, genetics].max()
    answerer = ChatAnswerer(pool)
    for question, routed in zip(questions, bundle.route(questions)):
        assert answerer.niche(question) == (genetics, True), question  # the world's own reading: genetics
        assert routed["models"][0] == champion, (question, routed)
        assert routed["out_of_distribution"] is False and routed["note"] is None, (question, routed)
    assert champion in README  # the README names the model it ranks first


def test_a_text_of_no_subject_of_the_world_is_flagged(trained):
    _, _, bundle = trained
    (unrelated,) = bundle.route(["Fluffy buttermilk pancake batter recipe"])  # cooking: no word the world speaks
    assert unrelated["out_of_distribution"] is True and unrelated["note"].startswith("out of distribution")
