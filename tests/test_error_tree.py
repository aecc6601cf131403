"""One error tree (issue 27): every exception type the project defines is an :class:`rgd.errors.RGDError`, so the
command line reports it as a message and a caller can catch the project's errors at once; the few signals that
never leave their module are listed here by name."""

from __future__ import annotations

import ast
import builtins
import importlib

import pytest

from rgd.errors import RGDError
from tests.paths import REPO_ROOT
from tests.test_defaults_once import SOURCE_ROOTS

#: control flow inside one module, not errors: a skipped benchmark row, a call not started after another failed,
#: a failure the retry loop retries (callers see rgd.llm.backends.errors.BackendError once retries are used up)
SIGNALS = {"SkipRow", "_Skipped", "TransientError", "RequestTimeout"}


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every module-level class whose bases name an exception (a builtin one, or a name
    ending in Error, Exception or Failure)."""
    out = []
    for top in SOURCE_ROOTS:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT / ("k8s/tools" if top.startswith("k8s/") else "")).with_suffix("")
            module = ".".join(p for p in rel.parts if p != "__init__")
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if not isinstance(node, ast.ClassDef):
                    continue
                names = [b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
                         if isinstance(b, (ast.Name, ast.Attribute))]
                if any(isinstance(getattr(builtins, n, None), type) and issubclass(getattr(builtins, n), BaseException)
                       or n.endswith(("Error", "Exception", "Failure")) for n in names):
                    out.append((module, node.name))
    return out


EXCEPTIONS = _exception_classes()


def test_the_scan_finds_the_project_errors():
    found = {name for _, name in EXCEPTIONS}
    assert {"DataError", "BackendError", "GatewayError", "RunConfigError", "KustomizeError"} <= found


@pytest.mark.parametrize(("module", "name"), [e for e in EXCEPTIONS if e[1] not in SIGNALS])
def test_every_error_type_is_an_rgd_error(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, RGDError), f"{module}.{name} is not an RGDError"


def test_errors_are_still_the_builtins_callers_catch():
    from rgd.tracking.listing import NoRegisteredModelError
    from rgd_k8s.kustomize import KustomizeError
    from rgd_k8s.run_config import RunConfigError

    assert issubclass(NoRegisteredModelError, LookupError) and issubclass(RunConfigError, ValueError)
    assert issubclass(KustomizeError, RuntimeError)
