"""``rgd demo-upstreams``: the simulated pool as OpenAI-compatible chat servers on loopback, for a local gateway.

A command of its own rather than a switch of ``rgd serve``: the gateway then runs exactly as in production, in
front of upstreams it reaches over HTTP (``configs/serve/demo.yaml`` names them), and the demo pool needs no
extra and no registry.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from rgd.cli.main import main
from rgd.serving.demo_upstreams import DEFAULT_BASE_PORT


@main.command("demo-upstreams")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Run config whose simulated world and pool to serve (default: the embedded default, as rgd run).")
@click.option("--base-port", default=DEFAULT_BASE_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="The first model's port; the others follow in pool order (0: any free ports).")
def demo_upstreams_cmd(config_path: Path | None, base_port: int) -> None:
    """Serve the simulated pool's models as OpenAI-compatible chat servers on 127.0.0.1 (offline, instant)
    until Ctrl-C: the upstreams of `rgd serve --config configs/serve/demo.yaml`."""
    from rgd.config.run_config import embedded_default
    from rgd.config.run_file import load_run_file
    from rgd.serving.demo_upstreams import DemoUpstreams
    from rgd.simulated.chat import ChatAnswerer
    from rgd.simulated.pool import SimulatedPool
    from rgd.simulated.world import World

    config = embedded_default() if config_path is None else load_run_file(config_path)[0]
    if config.pool.kind != "simulated":
        raise click.ClickException(f"{config_path}: pool.kind is {config.pool.kind!r}: demo-upstreams serves a "
                                   "simulated pool only (its real models are served by their own servers)")
    pool = SimulatedPool(World(config.simulated.world), config.simulated.pool)
    upstreams = DemoUpstreams(ChatAnswerer(pool), base_port)
    urls = upstreams.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    width = max(map(len, urls))
    for model, url in urls.items():
        click.echo(f"{model:<{width}}  {url}")
    named = " (the pool of configs/serve/demo.yaml)" if base_port == DEFAULT_BASE_PORT else ""
    click.echo(f"{len(urls)} simulated models answering on loopback{named}; Ctrl-C stops")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        upstreams.stop()
