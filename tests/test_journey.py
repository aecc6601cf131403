"""The newcomer's journey, as one test (issue 25.6): from a clean RGD_HOME, every command of the README's quick
start in order, as written there (read from README.md, run by bash from the repository root, with no MLFLOW_*
variable), asserting what the README says each shows: `rgd run` (champion), `rgd run --generator weak`
(challenger), `rgd models`, `rgd lineage`, `rgd route`, the demo upstreams, `rgd serve`, a chat completion over
HTTP, an alias switch the gateway follows, the rollback. The set-up line itself is CI's first step (.ci/run), so
only its `rgd run` is run here. A few minutes on 2 CPU cores; the README's fixed loopback ports must be free."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess

import pytest

from tests.paths import REPO_ROOT

pytest.importorskip("zenml", reason="rgd run needs the 'pipeline' extra")
pytest.importorskip("fastapi", reason="rgd serve needs the 'serve' extra")

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _genetics_champion() -> str:
    """The model the default world made strongest in biology's molecular-genetics niche (configs/default.yaml's
    world and pool are the library's defaults)."""
    from rgd.simulated import default_pool, default_world

    pool = default_pool(default_world())
    return pool.names[pool.champions[next(n.id for n in pool.world.niches if n.name == "biology/molecular_genetics")]]


GENETICS_CHAMPION = _genetics_champion()
PORTS = [8080, *range(8101, 8110)]  # configs/serve/demo.yaml's gateway and pool
BOUND_S = 1500  # the whole journey


def quick_start_commands() -> list[str]:
    """The quick start's commands in order, continuation lines joined: the set-up block's `rgd run`, then every
    line of the blocks after it."""
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    setup = [line for line in blocks[0].splitlines() if line.startswith("bash scripts/setup.sh &&")][0]
    commands = [setup.split("&&", 1)[1].strip()]
    for block in blocks[1:]:
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line)
    return commands


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run_journey(commands: list[str], home) -> tuple[list[tuple[str, int | None, str]], str]:
    """Run the commands in one bash (the README's `&` and `kill %1 %2` need one shell): per command (the command,
    its exit status or None for a background one, its output), and the whole output."""
    lines = ["cd " + json.dumps(str(REPO_ROOT))]
    for i, command in enumerate(commands):
        lines += [f"echo '@@@ start {i}'", command, f"echo \"@@@ end {i} $?\""]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(RGD_HOME=str(home), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(["bash", "-c", "\n".join(lines)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the journey did not finish in {BOUND_S} s:\n{out[-5000:]}")
    finally:  # whatever the journey left running in its session (a step that failed before `kill %1 %2`)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    steps = []
    for i, command in enumerate(commands):
        m = re.search(rf"@@@ start {i}\n(.*?)@@@ end {i} (\d+)\n", out, re.DOTALL)
        assert m, f"step {i} ({command}) did not run:\n{out[-5000:]}"
        steps.append((command, None if command.rstrip().split("#")[0].rstrip().endswith("&") else int(m.group(2)),
                      m.group(1)))
    return steps, out


def _json(text: str) -> dict:
    """The last JSON object printed in ``text`` (curl prints it without a newline, and with ``--retry`` each
    attempt's body on the same line: a 503 "loading" then the ready one)."""
    decoder = json.JSONDecoder()
    for m in reversed(list(re.finditer(r"^\{.*\}", text, re.MULTILINE))):
        line, found, at = m.group(0), None, 0
        while at < len(line):
            try:
                found, at = decoder.raw_decode(line, at)
            except ValueError:
                break
        if isinstance(found, dict):
            return found
    raise AssertionError(f"no JSON object in {text[-2000:]!r}")


def _step(steps, starts: str, nth: int = 0):
    found = [s for s in steps if s[0].lstrip().startswith(starts)]
    assert len(found) > nth, f"the quick start has no command {starts!r}"
    command, rc, out = found[nth]
    assert rc in (None, 0), f"{command} exited {rc}:\n{out[-3000:]}"
    return out


def test_the_readme_quick_start_works_as_written(tmp_path):
    busy = [p for p in PORTS if not _free(p)]
    if busy:
        pytest.skip(f"the README's loopback ports {busy} are in use here")
    stray = (REPO_ROOT / "mlflow.db").exists()
    commands = quick_start_commands()
    steps, out = _run_journey(commands, tmp_path / "rgd-home")

    # rgd run: the router against its baselines, the registered version and whether it became champion
    run = _step(steps, ".venv/bin/rgd run", 0)
    assert re.search(r"^router\s+top-1\s+top-3 vote", run, re.MULTILINE), run[-3000:]
    assert "registered rgd-router version 1: promoted to champion" in run
    assert "where to look:" in run
    # the same world, a weak generator: its router stays challenger
    assert "registered rgd-router version 2: stays challenger" in _step(steps, ".venv/bin/rgd run --generator weak")
    # both versions, their aliases, metrics and promotion decisions
    models = _step(steps, ".venv/bin/rgd models")
    assert re.search(r"^\s+1\s+champion\s+\d\.\d+\s+\d\.\d+.*sim-gen-strong\s+promoted", models, re.MULTILINE), models
    assert re.search(r"^\s+2\s+challenger\s+.*sim-gen-weak\s+refused", models, re.MULTILINE), models
    # which generator, data, filter, pool, embedder and run made it
    assert "sim-gen-weak" in _step(steps, ".venv/bin/rgd lineage --version 2")
    # the pool's models ranked for the question: first the specialist of biology's molecular-genetics niche (the
    # world speaks real words, issue 25.3), with no out-of-distribution note
    route = _step(steps, ".venv/bin/rgd route")
    assert re.search(rf"^1\. {GENETICS_CHAMPION}\s+\(\d\.\d+\)", route, re.MULTILINE), route
    assert "note: out of distribution" not in route and f"ranks `{GENETICS_CHAMPION}` first" in README

    # the demo pool prints its nine models and their URLs
    for port in range(8101, 8110):
        assert f"http://127.0.0.1:{port}/v1" in out
    curls = [s for s in steps if s[0].startswith("curl")]
    ready = _json(_step(steps, "curl -s --retry"))
    assert ready["status"] == "ready" and ready["router_version"] == "1", ready
    reply = _json(curls[1][2])
    model = reply["rgd"]["model"]
    assert reply["model"] == model and reply["rgd"]["ranking"][0] == model and reply["rgd"]["router_version"] == "1"
    assert reply["rgd"]["mode"] == "top1"
    assert isinstance(reply["rgd"]["out_of_distribution"], bool)  # the run's bundle has its coverage (issue 25.3)
    assert reply["choices"][0]["message"]["content"].startswith(
        f"[{model}, a simulated model] This is about molecular genetics (biology).")
    assert model == GENETICS_CHAMPION and reply["rgd"]["out_of_distribution"] is False
    assert re.search(r"the answer is \([A-D]\)\.$", reply["choices"][0]["message"]["content"])
    # after rgd promote 2 the gateway serves version 2; the rollback gives champion back to version 1
    switched = _json(_step(steps, ".venv/bin/rgd promote 2"))
    assert switched["status"] == "ready" and switched["router_version"] == "2", switched
    assert "champion v2 -> v1" in _step(steps, ".venv/bin/rgd promote --rollback")
    _step(steps, "kill %1 %2")
    assert stray or not (REPO_ROOT / "mlflow.db").exists(), "the journey left an mlflow.db in the checkout"
