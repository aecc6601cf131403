"""The one YAML reader (issue 27): every YAML the project reads refuses a key given twice, naming the file and
the key, and no other module loads YAML by itself."""

from __future__ import annotations

import ast

import pytest

from rgd.data.subjects import parse_subjects
from rgd.data.yaml_file import read_yaml, safe_load_all_unique
from rgd.errors import DataError
from tests.paths import REPO_ROOT
from tests.test_defaults_once import SOURCE_ROOTS

TWICE = "name: a\ngeneration:\n  n_per_subject: 5\n  seed: 1\n  n_per_subject: 50\n"


def test_a_key_given_twice_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(TWICE)
    with pytest.raises(DataError, match=r"twice\.yaml.*duplicate key 'n_per_subject' at line 5 \(first at line 3\)"):
        read_yaml(path)


def test_subject_sets_and_multi_document_streams_refuse_a_key_given_twice():
    with pytest.raises(DataError, match=r"subjects\.yaml.*duplicate key 'benchmark'"):
        parse_subjects("benchmark: a\nbenchmark: b\nn_options: 4\nsubjects: []\n", "subjects.yaml")
    with pytest.raises(Exception, match="duplicate key 'kind'"):
        safe_load_all_unique("kind: A\n---\nkind: B\nkind: C\n")
    assert safe_load_all_unique("a: 1\n---\na: 2\n") == [{"a": 1}, {"a": 2}]


def test_the_kubernetes_run_files_refuse_a_key_given_twice(tmp_path):
    from rgd_k8s.run_config import K8sRunConfig, RunConfigError

    path = tmp_path / "k8s.yaml"
    path.write_text("settings: {}\nextra:\n  rgd: {generators: [strong]}\nsteps: {}\nsteps: {}\n")
    with pytest.raises(RunConfigError, match=r"k8s\.yaml.*duplicate key 'steps'"):
        K8sRunConfig.load(path)


def test_no_other_module_loads_yaml():
    loaders = {"load", "safe_load", "load_all", "safe_load_all", "full_load", "unsafe_load"}
    found = []
    for top in SOURCE_ROOTS:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Attribute) and node.attr in loaders and isinstance(node.value, ast.Name)
                        and node.value.id == "yaml" and rel != "rgd/data/yaml_file.py"):
                    found.append(f"{rel}:{node.lineno}")
    assert found == [], f"YAML loaded outside rgd/data/yaml_file.py: {found}"
