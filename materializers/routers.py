"""Routers: ``RouterSet.save`` / ``load`` (one sub-directory per router, the library's router format) and
``RouterBundle.save`` / ``load`` (router + embedder + metadata, verified by sha256, from :mod:`rgd.routers.bundle`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from materializers.base import DirectoryMaterializer, table
from rgd.routers.base import Router
from rgd.routers.bundle import RouterBundle
from rgd.workflow.artifacts import RouterSet


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

    def extract_metadata(self, data: RouterSet) -> dict[str, Any]:
        return {"primary": data.primary, "routers": ", ".join(data.routers), "models": ", ".join(data.main.models_),
                **{f"primary_{k}": v for k, v in _describe(data.main).items() if k != "router"}}

    def html(self, data: RouterSet) -> str:
        rows = [(name, "yes" if name == data.primary else "", d.get("n_clusters", "-"))
                for name, d in ((n, _describe(r)) for n, r in data.routers.items())]
        return (f"<h3>routers over a pool of {len(data.main.models_)} models</h3>"
                + table(["router", "registered", "clusters"], rows)
                + table(["pool model"], [(m,) for m in data.main.models_]))


class RouterBundleMaterializer(DirectoryMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (RouterBundle,)
    ASSOCIATED_ARTIFACT_TYPE = DirectoryMaterializer.ASSOCIATED_ARTIFACT_TYPE.MODEL
    KIND = "router bundle"

    def extract_metadata(self, data: RouterBundle) -> dict[str, Any]:
        meta = {k: v for k, v in (data.metadata or {}).items() if isinstance(v, (str, int, float, bool))}
        ood = {} if data.coverage is None else {"out_of_distribution_threshold": data.coverage.threshold}
        return {**_describe(data.router), "embedder": data.embedder.identity, **ood, **meta}

    def html(self, data: RouterBundle) -> str:
        rows = [("router", data.router.name), ("embedder", data.embedder.identity),
                *[(k, v) for k, v in sorted((data.metadata or {}).items())]]
        return "<h3>router bundle</h3>" + table(["", "value"], rows) + table(
            ["pool model"], [(m,) for m in data.router.models_])
