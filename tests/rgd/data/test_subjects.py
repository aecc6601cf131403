"""Subject descriptions: the built-in sets and user-supplied YAML files."""

import gzip
import json

import pytest

from rgd.data.subjects import SubjectSet, builtin_subject_sets, load_subjects
from rgd.errors import DataError
from tests.paths import SHARED_MMLU

MMLU_PRO_QUESTIONS = SHARED_MMLU / "questions.jsonl.gz"


@pytest.mark.parametrize(
    "name, count, n_options", [("mmlu_pro", 14, 10), ("supergpqa", 13, 10), ("medmcqa", 21, 4), ("bbeh", 9, None)]
)
def test_builtin_sets_have_the_expected_subjects(name, count, n_options):
    subjects = load_subjects(name)
    assert subjects.benchmark == name
    assert len(subjects.subjects) == count == len(set(subjects.names))
    for s in subjects.subjects:
        assert len(s.description.split()) >= 8, s.name
        assert s.n_options is not None and 2 <= s.n_options <= 26
        if n_options is not None:
            assert s.n_options == n_options


def test_builtin_listing():
    assert builtin_subject_sets() == ["bbeh", "medmcqa", "mmlu_pro", "supergpqa"]


def test_bbeh_per_task_option_counts_override_the_default():
    bbeh = load_subjects("bbeh")
    assert bbeh.get("boardgame qa").n_options == 3
    assert bbeh.get("hyperbaton").n_options == bbeh.n_options == 5


def test_mmlu_pro_names_are_the_category_names_of_the_data():
    names = set(load_subjects("mmlu_pro").names)
    assert "computer science" in names
    if not MMLU_PRO_QUESTIONS.exists():
        pytest.skip(f"real MMLU-Pro data absent ({MMLU_PRO_QUESTIONS})")
    with gzip.open(MMLU_PRO_QUESTIONS, "rt") as fh:
        categories = {json.loads(line)["category"] for line in fh}
    assert names == categories


def test_user_file_replaces_a_builtin_set(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "benchmark: tiny\nn_options: 4\nsubjects:\n"
        "  - name: astronomy\n    description: Stars, galaxies and cosmology at graduate level.\n"
        "  - name: optics\n    n_options: 6\n    description: >-\n      Wave and geometric optics,\n      lasers.\n"
    )
    subjects = load_subjects(path)
    assert isinstance(subjects, SubjectSet)
    assert subjects.names == ["astronomy", "optics"]
    assert [s.n_options for s in subjects.subjects] == [4, 6]
    assert subjects.get("optics").description == "Wave and geometric optics, lasers."
    assert subjects.select(["optics"]).names == ["optics"]
    with pytest.raises(KeyError, match="no subject 'geology'"):
        subjects.get("geology")


@pytest.mark.parametrize(
    "text, message",
    [
        ("benchmark: x\nn_options: 4\nsubjects: [", "malformed YAML"),
        ("- just a list", "must be a mapping"),
        ("benchmark: x\nn_options: 4\nsubjects: []", "subjects"),
        ("benchmark: x\nn_options: 1\nsubjects:\n  - {name: a, description: long enough text here}", "n_options"),
        ("benchmark: x\nn_options: 4\nsubjects:\n  - {name: a}", "subjects.0.description"),
        (
            "benchmark: x\nn_options: 4\nsubjects:\n  - {name: a, description: long enough text here}\n"
            "  - {name: a, description: another long description}",
            "repeated: \\['a'\\]",
        ),
        ("benchmark: x\nn_options: 4\nsubjects:\n  - {name: a, description: long enough text, colour: red}", "colour"),
    ],
)
def test_invalid_files_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        load_subjects(path)
    assert str(path) in str(info.value)


def test_unknown_set_and_missing_file():
    with pytest.raises(DataError, match="unknown subject set 'nope'.*mmlu_pro"):
        load_subjects("nope")
    with pytest.raises(DataError, match="cannot read subject file"):
        load_subjects("/nonexistent/subjects.yaml")
