"""Consensus scoring without labels: confidence-weighted voting of the pool.

Per model, confidences (mean token log-probabilities) are z-scored robustly (median, 1.4826 x MAD, falling
back to the standard deviation); a model's vote weighs ``logistic(z)`` clamped to ``[w_min, w_max]``; the
weighted votes per option go through a softmax into a posterior over the options, and each model's
consensus score on a question is the posterior of the option it chose (0 when it did not answer).
When a pool records no confidences every vote weighs the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rgd.response_table import ResponseTable

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class ConsensusResult:
    """Consensus of a pool on a set of questions (no labels involved)."""

    posterior: np.ndarray  # (Q, O) float32, softmax of weighted votes over each question's options
    majority: np.ndarray  # (Q,) int16, option with the highest posterior, -1 when nobody answered
    agreement: np.ndarray  # (Q,) float32, fraction of the pool that chose the majority option
    scores: np.ndarray  # (M, Q) float32, posterior of the option each model chose (0: no answer)
    z: np.ndarray  # (M, Q) float32, z-scored confidence (0 where unknown)
    weights: np.ndarray  # (M, Q) float32, vote weights (0 where the model did not answer)

    def agrees(self, choices: np.ndarray) -> np.ndarray:
        """(M, Q) bool: the model chose the majority option."""
        return (choices == self.majority[None, :]) & (self.majority[None, :] >= 0)


@dataclass
class ConsensusScorer:
    """Fit per-model confidence statistics on training answers; score any table with them."""

    temperature: float = 1.0
    w_min: float = 0.01
    w_max: float = 0.99

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 <= self.w_min <= self.w_max <= 1:
            raise ValueError(f"need 0 <= w_min <= w_max <= 1, got {self.w_min}, {self.w_max}")
        self.models_: tuple[str, ...] | None = None
        self.center_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    # ------------------------------------------------------------------ statistics
    def fit(self, table: ResponseTable) -> "ConsensusScorer":
        conf = np.where(table.choices >= 0, table.confidence, np.nan).astype(np.float64)
        has = np.isfinite(conf).any(axis=1)
        center = np.zeros(table.n_models)
        scale = np.ones(table.n_models)
        if has.any():
            with np.errstate(all="ignore"):
                center[has] = np.nanmedian(conf[has], axis=1)
                mad = MAD_TO_SIGMA * np.nanmedian(np.abs(conf[has] - center[has, None]), axis=1)
                std = np.nanstd(conf[has], axis=1)
            s = np.where(mad > 1e-12, mad, std)
            scale[has] = np.where(s > 1e-12, s, 1.0)
        self.models_, self.center_, self.scale_ = table.models, center, scale
        return self

    def zscores(self, table: ResponseTable) -> np.ndarray:
        """(M, Q) z-scored confidence with the fitted statistics (0 where unknown)."""
        self._check(table)
        z = (table.confidence - self.center_[:, None]) / self.scale_[:, None]
        return np.where(np.isfinite(z) & (table.choices >= 0), z, 0.0).astype(np.float32)

    # ------------------------------------------------------------------ scoring
    def score(self, table: ResponseTable) -> ConsensusResult:
        z = self.zscores(table)
        answered = table.choices >= 0
        if table.has_confidence:
            w = np.clip(1.0 / (1.0 + np.exp(-z)), self.w_min, self.w_max)
        else:
            w = np.ones_like(z)
        w = np.where(answered, w, 0.0).astype(np.float32)

        n_q, n_o = table.n_questions, max(table.max_options, 1)
        votes = np.zeros((n_q, n_o), dtype=np.float64)
        cols = np.broadcast_to(np.arange(n_q), table.choices.shape)
        np.add.at(votes, (cols[answered], table.choices[answered].astype(np.int64)), w[answered])

        valid = np.arange(n_o)[None, :] < table.n_options[:, None]
        logits = np.where(valid, votes / self.temperature, -np.inf)
        logits -= logits.max(axis=1, keepdims=True)
        posterior = np.exp(logits)
        posterior /= posterior.sum(axis=1, keepdims=True)

        anyone = answered.any(axis=0)
        majority = np.where(anyone, votes.argmax(axis=1), -1).astype(np.int16)
        agree = (table.choices == majority[None, :]) & anyone[None, :]
        agreement = agree.mean(axis=0).astype(np.float32) if table.n_models else np.zeros(n_q, np.float32)

        safe_choice = np.where(answered, table.choices, 0).astype(np.int64)
        scores = np.take_along_axis(posterior.T, safe_choice, axis=0)
        scores = np.where(answered, scores, 0.0).astype(np.float32)
        return ConsensusResult(posterior.astype(np.float32), majority, agreement, scores, z, w)

    def fit_score(self, table: ResponseTable) -> ConsensusResult:
        return self.fit(table).score(table)

    def _check(self, table: ResponseTable) -> None:
        if self.models_ is None:
            raise RuntimeError("ConsensusScorer is not fitted; call fit() on training answers first")
        if tuple(table.models) != tuple(self.models_):
            raise ValueError(f"table pool {list(table.models)} differs from the fitted pool {list(self.models_)}")

    # ------------------------------------------------------------------ persistence (JSON-able)
    def to_dict(self) -> dict:
        self._check_fitted()
        return {
            "temperature": self.temperature,
            "w_min": self.w_min,
            "w_max": self.w_max,
            "models": list(self.models_),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ConsensusScorer":
        obj = cls(temperature=d["temperature"], w_min=d["w_min"], w_max=d["w_max"])
        obj.models_ = tuple(d["models"])
        obj.center_ = np.asarray(d["center"], dtype=np.float64)
        obj.scale_ = np.asarray(d["scale"], dtype=np.float64)
        if obj.center_.shape != (len(obj.models_),) or obj.scale_.shape != (len(obj.models_),):
            raise ValueError("consensus statistics do not match the number of models")
        return obj

    def _check_fitted(self) -> None:
        if self.models_ is None:
            raise RuntimeError("ConsensusScorer is not fitted")
