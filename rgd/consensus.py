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

from rgd.data.response_table import ResponseTable
from rgd.errors import ParameterError, check_is_fitted

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
    #: seeds the random choice among options tied for the most votes (common when votes are unweighted)
    seed: int = 0
    #: when set, only the strongest models by mean consensus score on the training questions vote (chosen in
    #: ``fit``, without labels; every model is still scored): an int is a count, a float in (0, 1) a fraction
    #: of the pool (rounded, at least 3). Weak models share wrong answers, so their votes pull the majority
    #: towards popular distractors (measured on MMLU-Pro; on a specialist pool it hurts: benchmarks/README.md).
    n_voters: int | float | None = None
    #: ``"pool"``: one set of voters for every question; ``"subject"``: the strongest voters of each subject
    #: (questions of a subject not seen in ``fit`` use the pool's)
    voter_scope: str = "pool"

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ParameterError(f"temperature must be > 0, got {self.temperature}")
        if not 0 <= self.w_min <= self.w_max <= 1:
            raise ParameterError(f"need 0 <= w_min <= w_max <= 1, got {self.w_min}, {self.w_max}")
        if self.n_voters is not None and not (
            (isinstance(self.n_voters, int) and self.n_voters >= 1) or 0 < self.n_voters < 1
        ):
            raise ParameterError(f"n_voters must be an int >= 1, a fraction in (0, 1) or None, got {self.n_voters!r}")
        if self.voter_scope not in ("pool", "subject"):
            raise ParameterError(f"voter_scope must be 'pool' or 'subject', got {self.voter_scope!r}")
        # fitted state, set by fit / from_dict (scikit-learn's convention: names ending in _, absent before):
        # models_ (M names), center_ / scale_ (M,) confidence statistics, voters_ (M,) bool,
        # subject_voters_ {subject: (M,) bool}

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
        self.voters_ = np.ones(table.n_models, dtype=bool)
        self.subject_voters_ = {}
        n_voters = self.voter_count(table.n_models)
        if n_voters < table.n_models:
            subjects = sorted(set(table.subjects.tolist())) if self.voter_scope == "subject" else []
            for _ in range(2):  # the strongest voters by consensus; the second round votes with them only
                scores = self.score(table).scores
                self.voters_ = _top_mask(scores.mean(axis=1), n_voters)
                self.subject_voters_ = {
                    s: _top_mask(scores[:, table.subjects == s].mean(axis=1), n_voters) for s in subjects
                }
        return self

    def voter_count(self, n_models: int) -> int:
        if self.n_voters is None:
            return n_models
        if isinstance(self.n_voters, int):
            return min(self.n_voters, n_models)
        return min(n_models, max(3, int(round(self.n_voters * n_models))))

    def all_voters(self) -> "ConsensusScorer":
        """The same fitted statistics with every model voting (e.g. for the whole pool's majority)."""
        self._check_fitted()
        return ConsensusScorer.from_dict(
            {**self.to_dict(), "n_voters": None, "voters": [True] * len(self.models_), "subject_voters": {}}
        )

    def voter_mask(self, table: ResponseTable) -> np.ndarray:
        """(M, Q) bool: which models vote on each question."""
        self._check_fitted()
        mask = np.repeat(self.voters_[:, None], table.n_questions, axis=1)
        for subject, voters in self.subject_voters_.items():
            cols = table.subjects == subject
            mask[:, cols] = voters[:, None]
        return mask

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
        w = np.where(answered & self.voter_mask(table), w, 0.0).astype(np.float32)

        n_q, n_o = table.n_questions, max(table.max_options, 1)
        votes = np.zeros((n_q, n_o), dtype=np.float64)
        cols = np.broadcast_to(np.arange(n_q), table.choices.shape)
        np.add.at(votes, (cols[answered], table.choices[answered].astype(np.int64)), w[answered])
        anyone = (w > 0).any(axis=0)

        valid = np.arange(n_o)[None, :] < table.n_options[:, None]
        logits = np.where(valid, votes / self.temperature, -np.inf)
        logits -= logits.max(axis=1, keepdims=True)
        posterior = np.exp(logits)
        posterior /= posterior.sum(axis=1, keepdims=True)

        # ties go to a random tied option: the lowest letter would bias the majority towards 'A'
        jitter = np.random.default_rng(self.seed).random(votes.shape) * 1e-6
        majority = np.where(anyone, np.where(valid, votes + jitter, -np.inf).argmax(axis=1), -1).astype(np.int16)
        agree = (table.choices == majority[None, :]) & anyone[None, :]
        agreement = agree.mean(axis=0).astype(np.float32) if table.n_models else np.zeros(n_q, np.float32)

        safe_choice = np.where(answered, table.choices, 0).astype(np.int64)
        scores = np.take_along_axis(posterior.T, safe_choice, axis=0)
        scores = np.where(answered, scores, 0.0).astype(np.float32)
        return ConsensusResult(posterior.astype(np.float32), majority, agreement, scores, z, w)

    def fit_score(self, table: ResponseTable) -> ConsensusResult:
        return self.fit(table).score(table)

    def _check(self, table: ResponseTable) -> None:
        self._check_fitted()
        if tuple(table.models) != tuple(self.models_):
            raise ParameterError(f"table pool {list(table.models)} differs from the fitted pool {list(self.models_)}")

    # ------------------------------------------------------------------ persistence (JSON-able)
    def to_dict(self) -> dict:
        self._check_fitted()
        return {
            "temperature": self.temperature,
            "w_min": self.w_min,
            "w_max": self.w_max,
            "seed": self.seed,
            "n_voters": self.n_voters,
            "voter_scope": self.voter_scope,
            "voters": self.voters_.tolist(),
            "subject_voters": {k: v.tolist() for k, v in self.subject_voters_.items()},
            "models": list(self.models_),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ConsensusScorer":
        obj = cls(temperature=d["temperature"], w_min=d["w_min"], w_max=d["w_max"], seed=d.get("seed", 0),
                  n_voters=d.get("n_voters"), voter_scope=d.get("voter_scope", "pool"))
        obj.models_ = tuple(d["models"])
        obj.center_ = np.asarray(d["center"], dtype=np.float64)
        obj.scale_ = np.asarray(d["scale"], dtype=np.float64)
        obj.voters_ = np.asarray(d.get("voters", [True] * len(obj.models_)), dtype=bool)
        obj.subject_voters_ = {k: np.asarray(v, dtype=bool) for k, v in d.get("subject_voters", {}).items()}
        shapes = {obj.center_.shape, obj.scale_.shape, obj.voters_.shape, *(v.shape for v in obj.subject_voters_.values())}
        if shapes != {(len(obj.models_),)}:
            raise ParameterError("consensus statistics do not match the number of models")
        return obj

    def _check_fitted(self) -> None:
        check_is_fitted(self, "ConsensusScorer", attributes=("models_",), hint="call fit() on training answers first")


def _top_mask(values: np.ndarray, n: int) -> np.ndarray:
    """(M,) bool marking the ``n`` largest values (ties to the lower index)."""
    mask = np.zeros(len(values), dtype=bool)
    mask[np.argsort(-values, kind="stable")[:n]] = True
    return mask
