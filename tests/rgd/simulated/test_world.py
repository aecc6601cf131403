import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.feature_extraction.text import TfidfVectorizer

from rgd.data.schema import Question
from rgd.errors import DataError
from rgd.simulated import World, WorldConfig, default_world


def test_config_rejects_bad_shapes():
    with pytest.raises(ValidationError):
        WorldConfig(min_options=8, max_options=4)
    with pytest.raises(ValidationError):
        WorldConfig(n_subjects=2, subject_names=("a",))
    with pytest.raises(ValidationError):
        WorldConfig(unknown_field=1)


def test_structure_and_distinct_vocabularies(world):
    assert len(world.subjects) == 6 and world.n_niches == 24
    words = [set(n.words) for n in world.niches]
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            assert not words[i] & words[j], "niche vocabularies must be distinct"
    assert set(world.subject_descriptions()) == set(world.subjects)


def test_benchmark_is_deterministic_and_stratified():
    a_train, a_test = World(WorldConfig(seed=3, n_subjects=3)).benchmark(120, 60, seed=1)
    b_train, b_test = World(WorldConfig(seed=3, n_subjects=3)).benchmark(120, 60, seed=1)
    assert a_train == b_train and a_test == b_test
    assert len(a_train) == 120 and len(a_test) == 60
    same = World(WorldConfig(seed=3, n_subjects=3))
    assert same.benchmark(120, 60, seed=1) == same.benchmark(120, 60, seed=1)  # a replay in the same world
    c_train, _ = World(WorldConfig(seed=4, n_subjects=3)).benchmark(120, 60, seed=1)
    assert [q.text for q in c_train] != [q.text for q in a_train]


def test_benchmark_questions_carry_true_keys_and_latent_truth(world, bench):
    train, test = bench
    qs = train + test
    assert len({q.id for q in qs}) == len(qs) and len({q.text for q in qs}) == len(qs)
    assert all(q.provenance.kind == "simulated" and q.answer is not None for q in qs)
    la = world.latent(qs)
    assert (la.key == np.array([q.answer_index for q in qs])).all()
    assert (la.distractor != la.key).all()
    # every niche appears in both splits, in proportion
    counts_train = np.bincount(world.latent(train).niche, minlength=world.n_niches)
    counts_test = np.bincount(world.latent(test).niche, minlength=world.n_niches)
    assert counts_train.min() >= 45 and counts_test.min() >= 95
    subj = world.niche_subject_index()
    assert all(world.subjects[subj[n]] == q.subject for q, n in zip(qs, la.niche))
    side = world.latent_map(test[:5])
    assert set(side) == {q.id for q in test[:5]} and all(isinstance(v[0], int) for v in side.values())


def test_unknown_question_is_a_clear_error(world):
    q = Question(id="nope", subject="biology", text="What is a cell?", options=["a", "b", "c"], answer="A")
    with pytest.raises(DataError, match="not part of this simulated world"):
        world.latent([q])


def test_content_lookup_survives_a_new_id(world, bench):
    q = bench[1][0]
    renamed = q.model_copy(update={"id": "parsed-elsewhere-1", "text": "  " + q.text + "\n"})
    assert world.latent([renamed]).qhash[0] == world.latent([q]).qhash[0]


def test_tfidf_clusters_questions_by_niche(world, bench):
    train, test = bench
    ntr, nte = world.latent(train).niche, world.latent(test).niche
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit([q.text for q in train])
    x = vec.transform([q.text for q in train]).toarray()
    xt = vec.transform([q.text for q in test]).toarray()
    cent = np.stack([x[ntr == k].mean(axis=0) for k in range(world.n_niches)])
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    assert ((xt @ cent.T).argmax(axis=1) == nte).mean() > 0.95
    # nearest neighbours mostly share the niche (what kNN routers rely on)
    nn = np.argsort(-(xt @ x.T), axis=1)[:, :20]
    assert (ntr[nn] == nte[:, None]).mean() > 0.8


def test_project_tfidf_embedder_clusters_by_niche(world, bench):
    embedding = pytest.importorskip("rgd.embedding")
    train, test = bench
    ntr, nte = world.latent(train).niche, world.latent(test).niche
    emb = embedding.make_embedder("tfidf").fit([q.text for q in train])
    x, xt = emb.embed([q.text for q in train]), emb.embed([q.text for q in test])
    cent = np.stack([x[ntr == k].mean(axis=0) for k in range(world.n_niches)])
    assert ((xt @ cent.T).argmax(axis=1) == nte).mean() > 0.95


def test_default_world_is_reproducible():
    assert default_world().fingerprint() == default_world().fingerprint()
    assert default_world(seed=1).fingerprint() != default_world().fingerprint()
