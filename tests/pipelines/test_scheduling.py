"""rgd schedule validates its cron expression field by field (issue 13, class 14): `99 99 * * *` is refused."""

from __future__ import annotations

import pytest

from pipelines.scheduling import check_cron
from rgd.errors import DataError


@pytest.mark.parametrize("cron", ["0 3 * * 1", "*/15 * * * *", "0 0-6/2 1,15 * mon-fri", "5 4 * jan,jul sun",
                                  "0 0 31 12 7", "59 23 * * 0"])
def test_valid_cron_expressions(cron):
    check_cron(cron)


@pytest.mark.parametrize("cron, match", [
    ("99 99 * * *", r"minute field '99'.*0-59"),
    ("0 24 * * *", r"hour field '24'.*0-23"),
    ("0 0 0 * *", r"day-of-month field '0'.*1-31"),
    ("0 0 * 13 *", r"month field '13'.*1-12"),
    ("0 0 * * 8", r"day-of-week field '8'.*0-7"),
    ("0 0 * * mon-xyz", r"day-of-week field 'mon-xyz'"),
    ("*/0 * * * *", r"minute field '\*/0'"),
    ("5-1 * * * *", r"minute field '5-1'"),
    ("0 3 * *", r"5 fields"),
    ("a b c d e", r"minute field 'a'"),
])
def test_invalid_cron_expressions_name_the_field(cron, match):
    with pytest.raises(DataError, match=match):
        check_cron(cron)
