"""load_recorded_data: a recorded pool's answers (no generation) split into train and test.

ZenML caches a step on its inputs, and the directory's name does not change when its files do: the pipeline
passes the directory's content hash (:func:`data_input`) as an input, so editing or deleting a file loads the
data again; where the files cannot be hashed before the run (a directory only the step's pod sees), the
loader is not cached at all. The training pipeline does the same for a recorded replay: generate_questions
takes the hash of the recorded generators' files, every respond step the hash of the recorded pool's.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from zenml import step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.run_config import RecordedSpec
from rgd.data.response_table import ResponseTable
from rgd.workflow.artifacts import QuestionSet


def data_input(loader: Any, *paths: str | None) -> tuple[Any, Optional[str]]:
    """The step to invoke and its ``data_sha256`` input: the content hash of the directories (or files) it
    reads, where they can be read here, else ``None`` and the step with caching off; no paths: as it is."""
    from rgd.data.recorded import paths_fingerprint
    from rgd.errors import DataError

    given = [p for p in paths if p is not None]
    if not given:
        return loader, None
    try:
        return loader, paths_fingerprint(given)
    except (DataError, OSError):
        return loader.with_options(enable_cache=False), None


@step
def load_recorded_data(recorded: RecordedSpec, data_sha256: Optional[str] = None) -> tuple[
    Annotated[QuestionSet, "train_questions"],
    Annotated[ResponseTable, "pool_responses"],
    Annotated[QuestionSet, "test_questions"],
    Annotated[ResponseTable, "test_responses"],
]:
    """``recorded``: the run's section; ``data_sha256``: the content hash of ``recorded.dir`` (a cache key;
    see the module docstring)."""
    from rgd.data.recorded import load_recorded

    data = load_recorded(recorded.dir, recorded.models)
    train_q, train_table = data.part("train")
    test_q, test_table = data.part("test")
    report = {"source": data.name, "data_sha256": data_sha256}
    return (QuestionSet(tuple(train_q), (), "train", None, report), train_table,
            QuestionSet(tuple(test_q), (), "test", None, report), test_table)
