"""``scripts/setup.sh`` installs what the README's quick start runs (issue 25.4), and the README says which extras
it installs: the journey needs no install step the README does not show."""

from __future__ import annotations

import re
import tomllib

from tests.paths import REPO_ROOT

SETUP = (REPO_ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
EXTRAS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]

#: the extras each command of the quick start imports beyond the core install (rgd serve refuses to start
#: without 'serve', and reads the registry through MLflow, of 'pipeline'; rgd run is ZenML + MLflow)
NEEDS = {"run": {"pipeline"}, "models": {"pipeline"}, "lineage": {"pipeline"}, "route": {"pipeline"},
         "promote": {"pipeline"}, "serve": {"serve", "pipeline"}, "demo-upstreams": set()}


def _setup_extras() -> tuple[set[str], set[str]]:
    """(the extras of `bash scripts/setup.sh`, those `--dev` adds)."""
    default = re.search(r'^extras="([^"]+)"$', SETUP, re.MULTILINE).group(1)
    dev = re.search(r'^\s+extras="\$extras,([^"]+)"$', SETUP, re.MULTILINE).group(1)
    return set(default.split(",")), set(dev.split(","))


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return re.findall(r"\.venv/bin/rgd ([a-z-]+)", "\n".join(blocks))


def test_the_setup_extras_exist():
    default, dev = _setup_extras()
    assert default | dev <= set(EXTRAS)


def test_setup_installs_every_extra_the_quick_start_uses():
    default, _ = _setup_extras()
    commands = _quick_start_commands()
    assert {"run", "serve", "demo-upstreams"} <= set(commands)
    for command in commands:
        assert command in NEEDS, f"rgd {command} is in the quick start: say which extras it needs"
        assert NEEDS[command] <= default, f"rgd {command} needs {NEEDS[command] - default}, which setup.sh does not install"


_WITHOUT_SERVE = """
import sys
class Missing:  # the 'serve' extra not installed: its packages cannot be imported
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fastapi", "uvicorn", "aiohttp"):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, Missing())
from rgd.cli import main
main(["serve", "--config", sys.argv[1]])
"""


def test_serve_without_its_extra_says_which_extra_to_install(tmp_path):
    """NEEDS' 'serve' for rgd serve: without it, rgd serve asks for it by name."""
    import subprocess
    import sys

    config = REPO_ROOT / "configs" / "serve" / "demo.yaml"
    res = subprocess.run([sys.executable, "-c", _WITHOUT_SERVE, str(config)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 1 and "the gateway needs the 'serve' extra" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_the_readme_names_the_extras_setup_installs():
    default, dev = _setup_extras()
    said = re.search(r"`scripts/setup.sh` installs the extras `([^`]+)`[^;]*; `--dev` adds `([^`]+)`", README)
    assert said, "the README says which extras scripts/setup.sh installs"
    assert set(said.group(1).split(",")) == default
    assert set(re.sub(r"\s+", "", said.group(2)).split(",")) == dev
