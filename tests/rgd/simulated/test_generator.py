import numpy as np
import pytest
from pydantic import ValidationError

from rgd.consensus import ConsensusScorer
from rgd.data.schema import Provenance
from rgd.simulated import (
    GENERATOR_PRESETS,
    PRESET_ORDER,
    GeneratorConfig,
    SimulatedGenerator,
    make_generator,
)
from rgd.simulated.registry import TOO_EASY, TOO_HARD


def test_config_validation():
    with pytest.raises(ValidationError):
        GeneratorConfig(key_accuracy=1.5)
    with pytest.raises(ValidationError):
        GeneratorConfig(too_easy_rate=0.7, too_hard_rate=0.6)
    with pytest.raises(ValueError, match="unknown generator preset"):
        make_generator(None, "legendary")


def test_presets_go_from_strong_to_weak():
    accs = [GENERATOR_PRESETS[p].key_accuracy for p in PRESET_ORDER]
    assert len(accs) >= 4 and accs == sorted(accs, reverse=True) and accs[-1] == 0.5


@pytest.mark.parametrize("preset", PRESET_ORDER)
def test_key_accuracy_matches_the_knob(world, preset):
    gen = make_generator(world, preset)
    qs = gen.generate_questions(250, seed=11)  # 1500 questions
    acc = (world.true_keys(qs) == np.array([q.answer_index for q in qs])).mean()
    assert abs(acc - gen.config.key_accuracy) < 0.04, (preset, acc)
    assert all(q.provenance.kind == "generated" and q.provenance.source == gen.model for q in qs)


def test_generation_is_deterministic_and_seeded(world):
    a = make_generator(world, "medium").generate_questions(30, seed=2)
    b = make_generator(world, "medium").generate_questions(30, seed=2)
    c = make_generator(world, "medium").generate_questions(30, seed=3)
    assert a == b
    assert {q.text for q in a}.isdisjoint({q.text for q in c})


def test_wrong_keys_are_the_distractor_weak_models_pick(world, pool):
    gen = make_generator(world, "very_weak")
    qs = gen.generate_questions(200, seed=5)
    la = world.latent(qs)
    keys = np.array([q.answer_index for q in qs])
    wrong = (keys != la.key) & (la.kind == 0)
    assert (keys[wrong] == la.distractor[wrong]).mean() > 0.75
    # and wrong keys fall on harder questions
    normal = la.kind == 0
    assert la.difficulty[wrong].mean() > la.difficulty[normal & ~wrong].mean() + 0.5
    table = pool.answer_table(qs)
    # on those questions the wrong key is often the pool's most common wrong answer (9 models: ties, noise)
    cols = np.flatnonzero(wrong)
    counts = np.zeros((len(cols), 10), dtype=int)
    for m in range(len(pool)):
        np.add.at(counts, (np.arange(len(cols)), table.choices[m, cols]), 1)
    counts[np.arange(len(cols)), la.key[cols]] = -1
    assert (counts.argmax(axis=1) == keys[cols]).mean() > 0.4  # chance: about 1 in 6


def test_too_easy_and_too_hard_questions_do_not_separate_the_pool(world, pool):
    cfg = GeneratorConfig(name="sim-gen-lazy", too_easy_rate=0.3, too_hard_rate=0.3)
    qs = SimulatedGenerator(world, cfg).generate_questions(100, seed=0)
    la = world.latent(qs)
    assert abs((la.kind == TOO_EASY).mean() - 0.3) < 0.06 and abs((la.kind == TOO_HARD).mean() - 0.3) < 0.06
    correct = pool.answer_table(qs).choices == la.key[None, :]
    assert correct[:, la.kind == TOO_EASY].all()
    hard = correct[:, la.kind == TOO_HARD]
    assert hard.mean() < 0.25  # guesses among 4-10 options
    cons = ConsensusScorer().fit_score(pool.answer_table(qs))
    assert cons.agreement[la.kind == TOO_HARD].mean() < cons.agreement[la.kind == 0].mean() - 0.2


def test_niche_coverage(world):
    gen = SimulatedGenerator(world, GeneratorConfig(name="sim-gen-narrow", niche_coverage=0.5))
    assert len(gen.covered_niches) == world.n_niches // 2
    qs = gen.generate_questions(40, seed=0)
    assert set(world.latent(qs).niche.tolist()) == set(gen.covered_niches)
    full = SimulatedGenerator(world, GeneratorConfig(name="sim-gen-wide"))
    assert full.covered_niches == list(range(world.n_niches))


def test_noise_words_lengthen_texts(world):
    clean = SimulatedGenerator(world, GeneratorConfig(name="g-clean")).generate_questions(60, seed=0)
    noisy = SimulatedGenerator(world, GeneratorConfig(name="g-noisy", noise_words=3)).generate_questions(60, seed=0)
    lens = lambda qs: np.mean([len(q.text.split()) for q in qs])
    assert lens(noisy) > lens(clean) + 2


def test_self_answers_strong_consistent_weak_inconsistent_on_wrong_keys(world):
    strong, weak = make_generator(world, "strong"), make_generator(world, "very_weak")
    out = {}
    for gen in (strong, weak):
        qs = gen.generate_questions(150, seed=1)
        table = gen.self_answer_table(qs, n_samples=5)
        assert table.models == tuple(f"{gen.model}#sample{i}" for i in range(5))
        agree = table.choices == table.answers[None, :]
        key_right = world.true_keys(qs) == table.answers
        out[gen.model] = agree.mean()
        assert agree[:, key_right].mean() > agree[:, ~key_right].mean() + 0.1
        again = gen.self_answer_table(qs[::-1], n_samples=5)
        assert np.array_equal(again.choices[:, ::-1], table.choices)
    assert out[strong.model] > out[weak.model] + 0.1


def test_generate_writes_parseable_blocks_the_pool_can_answer(world, pool):
    fmt = pytest.importorskip("rgd.generation.format")
    prompt_mod = pytest.importorskip("rgd.generation.prompt")
    gen = make_generator(world, "weak")
    specs = world.subject_specs(n_options=6)
    prompts = [prompt_mod.build_generation_prompt(s, 4, variant=v) for s in specs for v in range(2)]
    gens = gen.generate(prompts)
    parsed = []
    for (spec, _), g in zip([(s, v) for s in specs for v in range(2)], gens):
        res = fmt.parse_generation(g.text, 6, spec.name, Provenance(kind="generated", source=gen.model))
        assert not res.skipped and len(res.questions) == 4
        parsed += res.questions
    assert len({q.text for q in parsed}) == len(parsed) == 48
    # the parser gave new ids; the pool still knows the questions through their content
    table = pool.answer_table(parsed)
    assert table.choices.shape == (len(pool), 48)
    # the same prompt again gives new questions
    again = gen.generate(prompts[:1])[0].text
    assert again != gens[0].text
    # a fresh generator replays the same texts for the same prompts, in the same world
    assert make_generator(world, "weak").generate(prompts[:1])[0].text == gens[0].text


def test_generate_refuses_prompts_without_a_world_subject(world):
    from rgd.errors import DataError

    pytest.importorskip("rgd.generation.format")
    with pytest.raises(DataError, match="names none of the simulated subjects"):
        make_generator(world, "strong").generate(["Write questions about astrology."])
