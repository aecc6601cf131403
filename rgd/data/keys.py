"""Answer keys from a generator: a responses-format file (``question_id``, ``pred``) read as training keys.

In RGD a generated question's key is its generator's own answer, so a generator's recorded answers to a
benchmark's questions are exactly the keys it would have written (``null``: the generator gave no key). Keys
are *data*, not labels: label-using baselines learn from them and the product's router may weigh the
generator as one more voter; the benchmark's true keys are never read from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rgd.data.jsonl import read_jsonl
from rgd.data.schema import letter_to_index
from rgd.errors import DataError, ParameterError

NO_KEY = -1


def load_generator_keys(path: str | Path, question_ids: Sequence[str], n_options: np.ndarray,
                        known_ids: Sequence[str]) -> np.ndarray:
    """Keys for ``question_ids`` from a responses-format file covering (a superset of) them.

    Errors name the file and row: a row for an id outside ``known_ids``, a second row for one question, a
    letter the question does not have, a malformed letter; and the file itself when questions have no row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such keys file", path=path)
    index = {qid: i for i, qid in enumerate(question_ids)}
    known = set(known_ids) | set(index)
    keys = np.full(len(question_ids), NO_KEY, dtype=np.int8)
    seen = np.zeros(len(question_ids), dtype=bool)
    for row, obj in read_jsonl(path):
        if not isinstance(obj, dict) or "question_id" not in obj:
            raise DataError("missing field 'question_id'", path=path, row=row)
        qid = str(obj["question_id"])
        if qid not in known:
            raise DataError(f"key for unknown question_id {qid!r} (not in the data set)", path=path, row=row)
        if qid not in index:
            continue  # a question of another split: its key is not used
        i = index[qid]
        if seen[i]:
            raise DataError(f"second key for question_id {qid!r}", path=path, row=row)
        seen[i] = True
        pred = obj.get("pred", obj.get("choice"))
        if pred is None:
            continue
        try:
            k = letter_to_index(pred)
        except ParameterError:
            raise DataError(f"key {pred!r} is not an option letter", path=path, row=row) from None
        if k >= int(n_options[i]):
            raise DataError(f"key {pred!r} is beyond the {int(n_options[i])} options of question {qid!r}",
                            path=path, row=row)
        keys[i] = k
    if not seen.all():
        missing = [question_ids[i] for i in np.flatnonzero(~seen)[:5]]
        raise DataError(f"no key row for {int((~seen).sum())} of {len(question_ids)} training questions "
                        f"(first: {missing}); write `\"pred\": null` for a question the generator left unanswered",
                        path=path)
    return keys
