"""Gateway tests: a temp MLflow store with registered routers, fake upstream processes, the gateway process."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the gateway needs the 'serve' extra")
pytest.importorskip("aiohttp", reason="the gateway needs the 'serve' extra")
pytest.importorskip("prometheus_client", reason="the gateway needs the 'serve' extra")

from tests.rgd.llm.backends.conftest import llamacpp_base_url  # noqa: E402,F401 - the real llama.cpp server
from tests.rgd.tracking.conftest import bundle_dir, mlflow_home  # noqa: E402,F401 - temp MLflow store, a bundle
