"""A materializer base that stores an artifact as the directory its own type writes (JSON + NumPy).

Every stored type persists itself (``obj.save(directory)`` / ``Type.load(directory)``, never pickle); this
base only delegates to them on a local directory, moves the files to and from the artifact store (local or
remote) and writes an HTML visualization. Subclasses name the type and add metadata and the page.
Anything unreadable is refused with :class:`rgd.errors.ArtifactError` naming the stored files.
"""

from __future__ import annotations

import html
import os
import tempfile
from typing import Any, ClassVar, Iterable, Sequence

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.utils import io_utils

from rgd.errors import ArtifactError

VISUALIZATION_FILE = "visualization.html"
DATA_DIR = "data"  # the artifact's own files; the visualization lives next to it


class DirectoryMaterializer(BaseMaterializer):
    SKIP_REGISTRATION: ClassVar[bool] = True  # an abstract base: only its subclasses are registered
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA
    #: what the artifact is, for error messages
    KIND: ClassVar[str] = "artifact"

    # ---- hooks: the type's own persistence
    def write(self, data: Any, directory: str) -> None:
        data.save(directory)

    def read(self, directory: str, data_type: type) -> Any:
        return data_type.load(directory)

    def html(self, data: Any) -> str | None:
        return None

    # ---- ZenML interface
    def save(self, data: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="rgd-art-") as tmp:
            self.write(data, tmp)
            io_utils.copy_dir(tmp, os.path.join(self.uri, DATA_DIR), overwrite=True)

    def load(self, data_type: type) -> Any:
        with tempfile.TemporaryDirectory(prefix="rgd-art-") as tmp:
            try:
                io_utils.copy_dir(os.path.join(self.uri, DATA_DIR), tmp, overwrite=True)
            except Exception as exc:  # noqa: BLE001 - any storage failure is an unreadable artifact
                raise ArtifactError(f"{self.uri}: cannot read the stored {self.KIND} ({exc})") from None
            try:
                return self.read(tmp, data_type)
            except ArtifactError as exc:  # name the stored files, not the temporary copy
                where = str(exc).replace(tmp, os.path.join(self.uri, DATA_DIR))
                raise ArtifactError(f"{self.KIND} artifact at {self.uri}: {where}") from None
            except Exception as exc:  # noqa: BLE001 - a corrupt artifact must never load half-way
                raise ArtifactError(f"{self.KIND} artifact at {self.uri} is corrupt or incompatible "
                                    f"({type(exc).__name__}: {exc})") from None

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        body = self.html(data)
        if body is None:
            return {}
        path = os.path.join(self.uri, VISUALIZATION_FILE)
        with self.artifact_store.open(path, "w") as fh:
            fh.write(page(body))
        return {path: VisualizationType.HTML}


def page(body: str) -> str:
    style = ("body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse;margin:6px 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left} th{background:#f0f0f0}")
    return f"<html><head><meta charset='utf-8'><style>{style}</style></head><body>{body}</body></html>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tr>{head}</tr>{body}</table>"
