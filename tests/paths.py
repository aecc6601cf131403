"""Where the tests find the repository and the shared real data (``../shared`` beside the checkout)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SHARED_MMLU = SHARED_DATA / "mmlu_pro"
