"""`rgd route --file` reads its questions before the registry: a file that is not UTF-8 is an error naming the
file and the row, not a UnicodeDecodeError traceback (issue 28, 9)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rgd.cli import main


@pytest.mark.parametrize("name", ["questions.txt", "questions.jsonl"])
def test_a_questions_file_that_is_not_utf8_is_named(tmp_path, monkeypatch, name):
    monkeypatch.setenv("RGD_HOME", str(tmp_path / "home"))
    path = tmp_path / name
    path.write_bytes("which enzyme?\n".encode() + "quelle enzyme agit là ?\n".encode("latin-1"))
    res = CliRunner().invoke(main, ["route", "--file", str(path)])
    assert res.exit_code == 1 and f"{path}, row 2: not UTF-8 text (byte 0xe0)" in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
