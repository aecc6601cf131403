"""Routers as JSON + NumPy (the library's own router format); corrupt or incompatible ones are refused.

``RouterSet``: one sub-directory per router (the registered router and its baselines). ``RouterBundle``
(router + embedder + metadata, from :mod:`rgd.routers.bundle`) uses the bundle's own save / load.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from materializers.base import DirectoryMaterializer, read_json, table, write_json
from rgd.workflow.artifacts import RouterSet
from rgd.routers.base import Router

FORMAT, VERSION = "rgd.router_set", 1


def _describe(router: Router) -> dict[str, Any]:
    out: dict[str, Any] = {"router": router.name, "n_models": len(router.models_)}
    centroids = getattr(router, "centroids_", None)
    if centroids is not None:
        out["n_clusters"] = int(len(centroids))
    return out


class RouterSetMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (RouterSet,)
    ASSOCIATED_ARTIFACT_TYPE = DirectoryMaterializer.ASSOCIATED_ARTIFACT_TYPE.MODEL
    KIND = "router set"

    def write(self, data: RouterSet, directory: str) -> None:
        for name, router in data.routers.items():
            router.save(os.path.join(directory, name))
        write_json(directory, "meta.json", {"format": FORMAT, "version": VERSION, "primary": data.primary,
                                            "routers": list(data.routers)})

    def read(self, directory: str, data_type: type) -> RouterSet:
        meta = read_json(directory, "meta.json", FORMAT, VERSION)
        return RouterSet({name: Router.load(os.path.join(directory, name)) for name in meta["routers"]},
                         meta["primary"])

    def extract_metadata(self, data: RouterSet) -> dict[str, Any]:
        return {"primary": data.primary, "routers": ", ".join(data.routers), "models": ", ".join(data.main.models_),
                **{f"primary_{k}": v for k, v in _describe(data.main).items() if k != "router"}}

    def html(self, data: RouterSet) -> str:
        rows = [(name, "yes" if name == data.primary else "", d.get("n_clusters", "-"))
                for name, d in ((n, _describe(r)) for n, r in data.routers.items())]
        return (f"<h3>routers over a pool of {len(data.main.models_)} models</h3>"
                + table(["router", "registered", "clusters"], rows)
                + table(["pool model"], [(m,) for m in data.main.models_]))


try:  # the serving bundle is written by the MLflow layer; register its materializer when it exists
    from rgd.routers.bundle import RouterBundle
except ImportError:  # pragma: no cover - only while rgd.routers.bundle is not there
    RouterBundle = None


if RouterBundle is not None:

    class RouterBundleMaterializer(DirectoryMaterializer):
        ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (RouterBundle,)
        ASSOCIATED_ARTIFACT_TYPE = DirectoryMaterializer.ASSOCIATED_ARTIFACT_TYPE.MODEL
        KIND = "router bundle"

        def write(self, data, directory: str) -> None:
            data.save(directory)

        def read(self, directory: str, data_type: type):
            return RouterBundle.load(directory)

        def extract_metadata(self, data) -> dict[str, Any]:
            meta = {k: v for k, v in (getattr(data, "metadata", None) or {}).items()
                    if isinstance(v, (str, int, float, bool))}
            return {**_describe(data.router), "embedder": data.embedder.identity, **meta}

        def html(self, data) -> str:
            rows = [("router", data.router.name), ("embedder", data.embedder.identity),
                    *[(k, v) for k, v in sorted((getattr(data, "metadata", None) or {}).items())]]
            return "<h3>router bundle</h3>" + table(["", "value"], rows) + table(
                ["pool model"], [(m,) for m in data.router.models_])
else:  # pragma: no cover
    RouterBundleMaterializer = None
