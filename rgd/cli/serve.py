"""``rgd serve --config FILE``: the OpenAI-compatible routing gateway in front of the pool (extra ``serve``)."""

from __future__ import annotations

import logging

import click

from rgd.cli.main import main


@main.command("serve")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Gateway config (YAML; see configs/serve/gateway.yaml).")
@click.option("--host", default=None, help="Listen address (default: server.host of the config).")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="Listen port, 0-65535 (default: server.port of the config; 0: any free port).")
def serve_cmd(config_path: str, host: str | None, port: int | None) -> None:
    """Serve the registered router's alias as an OpenAI-compatible gateway: route, call the pool, fail over."""
    from rgd.serving.openmp import passive_openmp

    passive_openmp()  # before anything imports torch
    try:
        import uvicorn

        from rgd.serving.app import create_app
    except ImportError as exc:
        raise click.ClickException(f"the gateway needs the 'serve' extra ({exc}): pip install 'rgd-router[serve]'") from None
    try:
        from rgd.tracking.serving_source import RegistrySource, bound_registry_calls
    except ImportError as exc:
        raise click.ClickException(f"MLflow is not installed ({exc}); pip install 'rgd-router[pipeline]'") from None
    from rgd.serving.config import NotInRegistry, load_gateway_config

    config = load_gateway_config(config_path)
    bound_registry_calls()
    source = RegistrySource(config.registry.model_name, config.registry.alias, config.registry.tracking_uri)
    host = host or config.server.host
    port = config.server.port if port is None else port
    server: uvicorn.Server | None = None

    def stop() -> None:  # the gateway cannot serve at all (a pool sharing no model with the router)
        server.should_exit = True

    app = create_app(config, source, config_path=config_path, on_fatal=stop)
    try:
        source.open()  # after the config's own checks (client keys, upstream keys): a missing store is named here
    except NotInRegistry as exc:
        raise click.ClickException(f"{config_path}: {exc.field}: {exc}") from None
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    logging.getLogger("rgd.serving").info("gateway for %s@%s on %s:%d", source.name, source.alias, host, port)
    server.run()
    if app.state.gateway.fatal is not None:
        raise click.ClickException(app.state.gateway.fatal)
    if not server.started:
        raise click.ClickException(f"the gateway did not start on {host}:{port} (see the error above)")
