"""Each default is typed once (issue 27): the registered model's name, the registry's aliases, the embedder kinds
and their aliases, the generator presets and the default router each have one definition in the library, and
the command line, the steps, the pipelines, the gateway and the Kubernetes tools import it.

The scan reads the code as Python (string constants outside docstrings), so prose may name them freely."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

#: every source tree of the project (tests and benchmarks use the names, they do not define them)
SOURCE_ROOTS = ("rgd", "steps", "pipelines", "materializers", "k8s/tools/rgd_k8s")

#: each default's text -> the one file that types it
DEFINED_ONCE = {
    "rgd-router": "rgd/config/aliases.py",  # DEFAULT_MODEL_NAME
    "champion": "rgd/config/aliases.py",  # CHAMPION
    "challenger": "rgd/config/aliases.py",  # CHALLENGER
    "tfidf": "rgd/embedding/tfidf.py",  # TfidfSvdEmbedder.kind
    "minilm": "rgd/embedding/sentence.py",  # SentenceTransformerEmbedder.kind
    "sentence-transformers/all-MiniLM-L6-v2": "rgd/embedding/sentence.py",  # MINILM_NAME
    "all-MiniLM-L6-v2": "rgd/embedding/sentence.py",  # MINILM_ALIASES
    "very_weak": "rgd/config/simulated.py",  # GENERATOR_PRESETS
    "truth_cluster": "rgd/routers/truth_cluster.py",  # TruthClusterRouter.name, which is DEFAULT_ROUTER
}
#: the same text meaning something else, where it stands for that other thing
OTHER_MEANINGS = {
    "rgd-router": {"rgd/tracking/log_router.py",  # DISTRIBUTION: the project's pip name
                   "rgd/serving/batcher.py"},  # the ranking thread's name
}
#: names that must be assigned a value in one module only
ASSIGNED_ONCE = ("DEFAULT_MODEL_NAME", "DEFAULT_EXPERIMENT", "CHAMPION", "CHALLENGER", "DEFAULT_ROUTER",
                 "MINILM_NAME", "MINILM_ALIASES", "EMBEDDER_KIND_NAMES", "TFIDF_KIND", "MINILM_KIND",
                 "GENERATOR_PRESETS", "PRESET_ORDER", "ZENML_TOP_KEYS")
#: the generator presets, strongest first: typed together once (the presets' dict)
PRESETS = ("strong", "medium", "weak", "very_weak")


def _sources(root: Path) -> dict[str, ast.Module]:
    out = {}
    for top in SOURCE_ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            out[path.relative_to(root).as_posix()] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _docstrings(tree: ast.Module) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}


def string_places(root: Path, texts) -> dict[str, set[str]]:
    """For each text, the files whose code (not docstrings) has it as a string constant."""
    wanted = set(texts)
    places: dict[str, set[str]] = {t: set() for t in wanted}
    for name, tree in _sources(root).items():
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in wanted and id(node) not in docs:
                places[node.value].add(name)
    return places


def assignment_places(root: Path, names) -> dict[str, set[str]]:
    """For each name, the modules that assign it at their top level (an import is not an assignment)."""
    places: dict[str, set[str]] = {n: set() for n in names}
    for file, tree in _sources(root).items():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id in places:
                    places[target.id].add(file)
    return places


def preset_lists(root: Path) -> set[str]:
    """Files with a literal collection (tuple, list, set, dict keys) naming two generator presets or more."""
    out = set()
    for file, tree in _sources(root).items():
        for node in ast.walk(tree):
            items = node.keys if isinstance(node, ast.Dict) else node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else []
            named = {i.value for i in items if isinstance(i, ast.Constant) and i.value in PRESETS}
            if len(named) >= 2:
                out.add(file)
    return out


@pytest.mark.parametrize("text", sorted(DEFINED_ONCE))
def test_each_default_is_typed_in_one_place(text):
    places = string_places(REPO_ROOT, [text])[text] - OTHER_MEANINGS.get(text, set())
    assert places == {DEFINED_ONCE[text]}, f"{text!r} is typed in {sorted(places)}: import it from {DEFINED_ONCE[text]}"


def test_the_lowercase_minilm_aliases_are_not_typed_again():
    """A run config's ``embedder:`` short form lower-cases the one alias list (rgd.embedding.sentence)."""
    places = string_places(REPO_ROOT, ["all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"])
    assert places == {"all-minilm-l6-v2": set(), "sentence-transformers/all-minilm-l6-v2": set()}


@pytest.mark.parametrize("name", ASSIGNED_ONCE)
def test_each_default_name_has_one_definition(name):
    places = assignment_places(REPO_ROOT, [name])[name]
    assert len(places) == 1, f"{name} is defined in {sorted(places)}"


def test_the_generator_presets_are_listed_once():
    assert preset_lists(REPO_ROOT) == {"rgd/config/simulated.py"}


def test_the_defaults_resolve_to_what_they_were():
    from rgd.config.aliases import CHALLENGER, CHAMPION, DEFAULT_MODEL_NAME
    from rgd.config.run_config import RunConfig
    from rgd.embedding.registry import EMBEDDER_KIND_NAMES
    from rgd.routers.registry import DEFAULT_ROUTER
    from rgd.serving.config import RegistrySpec, RoutingSpec
    from rgd.simulated.presets import PRESET_ORDER

    assert (DEFAULT_MODEL_NAME, CHAMPION, CHALLENGER) == ("rgd-router", "champion", "challenger")
    assert EMBEDDER_KIND_NAMES == ("tfidf", "minilm") and PRESET_ORDER == PRESETS and DEFAULT_ROUTER == "truth_cluster"
    config = RunConfig(generators=["strong"])
    assert (config.registry.model_name, config.router.name, config.embedder.kind) == (DEFAULT_MODEL_NAME, DEFAULT_ROUTER, "tfidf")
    served = (RegistrySpec.model_fields["model_name"].default, RegistrySpec.model_fields["alias"].default,
              RoutingSpec.model_fields["public_model"].default)
    assert served == (DEFAULT_MODEL_NAME, CHAMPION, DEFAULT_MODEL_NAME)


def test_the_scan_finds_a_default_typed_again(tmp_path):
    """The checks above can fail: a module that types a default again is found."""
    for top in SOURCE_ROOTS:
        (tmp_path / top).mkdir(parents=True)
    (tmp_path / "rgd" / "one.py").write_text('"""champion, in prose."""\nCHAMPION = "champion"\n')
    (tmp_path / "steps" / "two.py").write_text('def f(alias="champion", level=("weak", "strong")):\n    pass\n')
    (tmp_path / "pipelines" / "three.py").write_text('CHAMPION = "champion"\n')
    assert string_places(tmp_path, ["champion"]) == {"champion": {"rgd/one.py", "steps/two.py", "pipelines/three.py"}}
    assert assignment_places(tmp_path, ["CHAMPION"]) == {"CHAMPION": {"rgd/one.py", "pipelines/three.py"}}
    assert preset_lists(tmp_path) == {"steps/two.py"}
