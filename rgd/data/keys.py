"""Answer keys from a generator: a responses-format file (``question_id``, ``pred``) read as training keys.

In RGD a generated question's key is its generator's own answer, so a generator's recorded answers to a
benchmark's questions are exactly the keys it would have written (``null``: the generator gave no key). Keys
are *data*, not labels: label-using baselines learn from them and the product's router may weigh the
generator as one more voter; the benchmark's true keys are never read from here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from rgd.data.jsonl import read_jsonl
from rgd.data.schema import letter_to_index
from rgd.errors import DataError, ParameterError

log = logging.getLogger(__name__)

NO_KEY = -1


def load_generator_keys(path: str | Path, question_ids: Sequence[str], n_options: np.ndarray,
                        known_ids: Sequence[str]) -> np.ndarray:
    """Keys for ``question_ids`` from a responses-format file covering (a superset of) them.

    Errors name the file and row: a row for an id outside ``known_ids``, a second row for one question, a
    malformed letter; and the file itself when no question has a row. A question without a row, or whose key
    names an option it does not have, has no key (recorded generator answers have a few of each): the
    warning names how many and the rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such keys file", path=path)
    index = {qid: i for i, qid in enumerate(question_ids)}
    known = set(known_ids) | set(index)
    keys = np.full(len(question_ids), NO_KEY, dtype=np.int8)
    seen = np.zeros(len(question_ids), dtype=bool)
    beyond: list[int] = []
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
        if k >= int(n_options[i]):  # a generator can name a letter its question does not have: not a key
            beyond.append(row)
            continue
        keys[i] = k
    if beyond:
        log.warning("%s: %d keys name an option their question does not have (rows %s%s); they count as no key",
                    path, len(beyond), beyond[:5], "..." if len(beyond) > 5 else "")
    if not seen.any():
        raise DataError(f"no row for any of the {len(question_ids)} training questions; is it a keys file of "
                        "this data set?", path=path)
    if not seen.all():  # recorded generator answers miss a few rows: a missing row is a question without a key
        missing = [question_ids[i] for i in np.flatnonzero(~seen)[:5]]
        log.warning("%s: no key row for %d of %d training questions (first: %s); they count as unanswered",
                    path, int((~seen).sum()), len(question_ids), missing)
    return keys
