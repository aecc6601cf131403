"""The architecture, as tests: the import contracts hold and can fail, and no import runs in a circle."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the dev extra)")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ROOTS = ("rgd", "pipelines", "steps", "materializers", "rgd_k8s")


def _contracts() -> list[dict]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _graph():
    return grimp.build_graph(*ROOTS)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_module_imports_in_a_circle():
    graph = _graph()
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_no_package_of_the_library_imports_in_a_circle():
    graph = _graph()

    def room(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if parts[0] == "rgd" and len(parts) > 1 else parts[0]

    edges: dict[str, set[str]] = {}
    for m in graph.modules:
        for d in graph.find_modules_directly_imported_by(m):
            if room(m) != room(d):
                edges.setdefault(room(m), set()).add(room(d))
    assert _cycles(edges) == []


def test_the_library_contract_names_every_package_but_the_cli():
    packages = {f"rgd.{p.stem}" for p in (REPO_ROOT / "rgd").iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}
    contract = next(c for c in _contracts() if "zenml" in c["forbidden_modules"])
    assert set(contract["source_modules"]) == packages - {"rgd.cli"}


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed (dev extra)")
def test_import_contracts_hold():
    proc = subprocess.run([str(LINT_IMPORTS)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"{len(_contracts())} kept, 0 broken" in proc.stdout


def _lint_with_sneaky_import(tmp_path, sneaky: str, forbidden: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the tree where the module ``sneaky`` (a dotted path) imports ``forbidden``."""
    for root in ("rgd", "pipelines", "steps", "materializers"):
        shutil.copytree(REPO_ROOT / root, tmp_path / root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "k8s" / "tools" / "rgd_k8s", tmp_path / "rgd_k8s",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / (sneaky.replace(".", "/") + ".py")).write_text(f"import {forbidden}\n")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed (dev extra)")
@pytest.mark.parametrize("forbidden", ["zenml", "pipelines.launch", "steps.names", "materializers", "rgd_k8s.checks"])
def test_a_library_module_importing_an_adapter_breaks_the_contract(tmp_path, forbidden):
    proc = _lint_with_sneaky_import(tmp_path, "rgd.workflow.sneaky", forbidden)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout and "rgd.workflow.sneaky" in proc.stdout


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed (dev extra)")
@pytest.mark.parametrize(("sneaky", "forbidden"), [("rgd_k8s.sneaky", "pipelines.launch"),
                                                   ("rgd_k8s.sneaky", "steps.names"),
                                                   ("pipelines.sneaky", "rgd_k8s.run_config")])
def test_the_kubernetes_tools_and_the_adapters_importing_each_other_breaks_a_contract(tmp_path, sneaky, forbidden):
    """The Kubernetes tools sit beside the pipelines: what both need (step names, run-file shapes) is the library's."""
    proc = _lint_with_sneaky_import(tmp_path, sneaky, forbidden)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout and sneaky in proc.stdout
