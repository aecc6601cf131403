"""The simulated models' answers to free chat text (rgd demo-upstreams): placed in the niche whose terms the text
shares, answered with the world's answer model, the same every time."""

from __future__ import annotations

import numpy as np
import pytest

from rgd.data.schema import LETTERS
from rgd.errors import ParameterError
from rgd.simulated.chat import ChatAnswerer, listed_options
from rgd.simulated.randomness import stable_hash

COOKING = "How do you make a fluffy pancake batter with buttermilk?"  # no subject of the default world is cooking


@pytest.fixture(scope="module")
def answerer(pool):
    return ChatAnswerer(pool)


def _texts(world, niche: int, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = world.niches[niche].words
    return [f"Which of these explains {' '.join(rng.choice(words, 4))} best?" for _ in range(n)]


def test_a_text_goes_to_the_niche_whose_terms_it_shares(world, answerer):
    for niche in (0, 5, world.n_niches - 1):
        for text in _texts(world, niche, 5):
            assert answerer.niche(text) == (niche, True)
    # the default world speaks real words (rgd.simulated.lexicon): the README's question is biology's genetics
    genetics = next(n.id for n in world.niches if n.name == "biology/molecular_genetics")
    assert answerer.niche("Which enzyme unwinds DNA during replication?") == (genetics, True)
    assert answerer.niche(COOKING)[1] is False


def test_the_same_text_gets_the_same_answer_and_says_what_it_is(world, answerer):
    text = _texts(world, 3, 1)[0]
    first = answerer.answer("sim-generalist-large", text)
    assert answerer.answer("sim-generalist-large", text) == first
    assert first.text.startswith("[sim-generalist-large, a simulated model] This is about ")
    assert first.text.endswith(f"the answer is ({first.choice}).") and first.subject == world.niches[3].subject
    about = answerer.answer("sim-generalist-large", "Which enzyme unwinds DNA during replication?")
    assert "This is about molecular genetics (biology)." in about.text and about.subject == "biology"
    guess = answerer.answer("sim-generalist-large", COOKING)
    assert "shares no term with the simulated world's subjects" in guess.text and guess.subject is None


def test_a_niche_champion_answers_its_niche_right_more_often_than_other_niches(world, pool, answerer):
    """The latent skill shows: a text's hidden key is its hash among the options; the niche's champion specialist
    hits it far more often in its niche than in a niche it is weak in."""
    niche = 0
    champion = pool.names[pool.champions[niche]]
    weak = int(np.argmin(pool.skills[pool.champions[niche]]))

    def accuracy(n: int) -> float:
        texts = _texts(world, n, 200, seed=n)
        return float(np.mean([answerer.answer(champion, t).choice == LETTERS[stable_hash(" ".join(t.split())) % 4]
                              for t in texts]))

    assert accuracy(niche) > accuracy(weak) + 0.3


def test_options_listed_in_the_text_are_the_choices():
    assert listed_options("Q?\nA) one\nB) two\nC) three") == 3
    assert listed_options("Q?\n(A) one\n(B) two\n(C) three\n(D) four\n(E) five") == 5
    assert listed_options("no options here") == 4


def test_a_model_not_in_the_pool_is_refused(answerer):
    with pytest.raises(ParameterError, match="'gpt-4o' is not a model of the simulated pool"):
        answerer.answer("gpt-4o", "hello")
