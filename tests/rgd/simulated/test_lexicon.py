"""The simulated world's real words (issue 25, 3): each default subject speaks its own real vocabulary, the words
are all that changes (the same draws as the world in made-up words), and real questions of a subject land next to
that subject's questions."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rgd.config.simulated import DEFAULT_SUBJECTS, WorldConfig
from rgd.embedding import make_embedder
from rgd.simulated.lexicon import LEXICON
from rgd.simulated.vocabulary import OPTION_TEMPLATES, QUESTION_TEMPLATES
from rgd.simulated.world import World

#: questions written as a person would ask them, per subject (none is a template of the world)
REAL_QUESTIONS = {
    "biology": ["Which enzyme unwinds DNA during replication?",
                "What role does mRNA play in translation at the ribosome?",
                "How does natural selection lead to speciation in an isolated population?",
                "Why does a cell need mitochondria to make ATP?"],
    "chemistry": ["Which carbonyl compound forms when a secondary alcohol is oxidized?",
                  "How does a catalyst lower the activation energy of a reaction?",
                  "What is the pH of a buffer made of a weak acid and its conjugate base?",
                  "Why is a covalent bond between atoms of different electronegativity polar?"],
    "physics": ["What is the momentum of a projectile just before it hits the ground?",
                "How does the current through a resistor change when the voltage doubles?",
                "What causes the diffraction of light through a narrow slit?",
                "Why does radioactive decay follow a fixed half-life?"],
    "law": ["When is a contract unenforceable for lack of consideration?",
            "What mens rea separates murder from manslaughter?",
            "Does the commerce clause let congress regulate intrastate activity?",
            "Is a landlord liable in negligence for an injury to a tenant?"],
    "economics": ["How does monetary policy of the central bank affect inflation?",
                  "Why does a monopoly create a deadweight loss?",
                  "How does a tariff on imports affect the exchange rate of the currency?",
                  "Does a minimum wage raise unemployment among young workers?"],
    "history": ["What power did the senate hold in the Roman republic?",
                "How did the plague weaken feudal lords and the church?",
                "Why did the treaty of Versailles help fascism rise?",
                "What did emancipation mean for plantation slavery?"],
    "psychology": ["How does operant conditioning differ from classical conditioning?",
                   "Why do people show conformity in the Asch experiment?"],
    "engineering": ["How does reinforced concrete resist bending in a beam?",
                    "What does a PID controller do with the feedback signal?"],
    "philosophy": ["What is the categorical imperative in Kant's ethics?",
                   "How does empiricism answer skepticism about knowledge?"],
    "health": ["Why does a vaccine give immunity against a virus?",
               "Which drug dose is safe for a patient with hypertension?"],
    "math": ["What is the derivative of an exponential function?",
             "How do you find the eigenvalue of a matrix?"],
    "computer_science": ["What is the time complexity of binary search in a sorted array?",
                         "How does a deadlock arise between two threads?"],
}
UNRELATED = "Fluffy buttermilk pancake batter recipe"  # cooking; no subject of the world is cooking


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_every_default_subject_has_real_words_enough_for_the_default_world():
    assert set(LEXICON) == set(DEFAULT_SUBJECTS)
    config = WorldConfig()
    template_words = _words(" ".join(QUESTION_TEMPLATES + OPTION_TEMPLATES))
    subject_name_words = _words(" ".join(DEFAULT_SUBJECTS).replace("_", " "))
    seen: dict[str, str] = {}
    for subject, lexicon in LEXICON.items():
        assert len(lexicon.shared) >= config.subject_vocab_size, subject
        assert len(lexicon.topics) >= config.niches_per_subject, subject
        for topic, words in (("shared", lexicon.shared), *lexicon.topics):
            assert len(words) >= config.niche_vocab_size or topic == "shared", (subject, topic)
            for word in words:
                assert re.fullmatch(r"[a-z]{2,}", word), (subject, topic, word)  # one token to every embedder
                assert word not in seen, f"{word!r} is in {seen.get(word)} and {subject}/{topic}"
                assert word not in template_words and word not in subject_name_words, (subject, topic, word)
                seen[word] = f"{subject}/{topic}"


def test_the_default_world_speaks_each_topic_s_key_terms():
    world = World(WorldConfig())
    size = world.config.niche_vocab_size
    genetics = world.niches[0]
    assert (genetics.name, genetics.topic) == ("biology/molecular_genetics", "molecular genetics")
    assert genetics.words == LEXICON["biology"].topics[0][1][:size]
    assert {"dna", "replication", "enzyme"} <= set(genetics.words)
    assert world.subject_words["law"] == LEXICON["law"].shared[: world.config.subject_vocab_size]
    assert "molecular genetics, ecology and evolution" in world.subject_descriptions()["biology"]
    filler = _words(" ".join(QUESTION_TEMPLATES + OPTION_TEMPLATES + tuple(world.subjects)))
    for q in world.benchmark(60, 0)[0]:  # every other word of a question is a real word of its own subject
        lexicon = LEXICON[q.subject]
        own = {*lexicon.shared, *(w for _, words in lexicon.topics for w in words)}
        assert _words(" ".join([q.text, *q.options])) - filler <= own, q.text


def test_only_the_words_change():
    """The same world in made-up words (subject names the lexicon does not know) has the same niches and
    difficulties, and its questions are the real world's, word for word through one fixed dictionary."""
    config = WorldConfig(seed=3)
    real = World(config)
    made_up = World(config.model_copy(update={"subject_names": tuple(f"s{i}" for i in range(config.n_subjects))}))
    assert [n.difficulty_offset for n in real.niches] == [n.difficulty_offset for n in made_up.niches]
    assert not set(made_up.all_words) & set(real.all_words)
    mapping: dict[str, str] = {}
    for a, b in zip(real.benchmark(300, 60)[0], made_up.benchmark(300, 60)[0]):
        ta = " ".join([a.text, *a.options]).replace(a.subject, "SUBJECT").split()
        tb = " ".join([b.text, *b.options]).replace(b.subject, "SUBJECT").split()
        assert len(ta) == len(tb)
        for x, y in zip(ta, tb):
            assert mapping.setdefault(y, x) == x, (y, x, mapping[y])
    assert len(set(mapping.values())) == len(mapping)  # one to one


def test_made_up_words_fill_in_where_the_lexicon_ends():
    world = World(WorldConfig(n_subjects=2, subject_names=("biology", "cooking"), niches_per_subject=6,
                              niche_vocab_size=60))
    topics = LEXICON["biology"].topics
    bio = [n for n in world.niches if n.subject == "biology"]
    assert bio[0].words[: len(topics[0][1])] == topics[0][1] and len(bio[0].words) == 60
    assert not set(bio[0].words[len(topics[0][1]):]) & set(LEXICON["biology"].topics[0][1])
    lexicon_words = {w for lx in LEXICON.values() for _, ws in lx.topics for w in ws} | {
        w for lx in LEXICON.values() for w in lx.shared}
    assert not set(bio[len(topics)].words) & lexicon_words  # a niche beyond the topics: made-up words
    assert not set(world.subject_words["cooking"]) & lexicon_words
    assert len(set(world.all_words)) == len(world.all_words)


@pytest.mark.parametrize("n_subjects", [6, 12])
def test_real_questions_land_next_to_their_subject_s_questions(n_subjects):
    """A TF-IDF embedder fitted on the world's questions puts a real question nearest to a training question of
    its own subject; a phrase of an unrelated field shares nothing with them. In made-up words neither held: every
    real question was as near one subject as another."""
    world = World(WorldConfig(n_subjects=n_subjects))
    train, _ = world.benchmark(100 * n_subjects, 0)
    embedder = make_embedder("tfidf").fit([q.text for q in train])
    x = embedder.embed([q.text for q in train])
    subjects = np.array([q.subject for q in train])
    asked = [(s, q) for s in world.subjects for q in REAL_QUESTIONS[s]]
    nearest = subjects[np.argmax(embedder.embed([q for _, q in asked]) @ x.T, axis=1)]
    wrong = [(s, q, got) for (s, q), got in zip(asked, nearest) if got != s]
    assert len(wrong) <= len(asked) // 10, wrong
    assert not np.any(embedder.embed([UNRELATED]))
