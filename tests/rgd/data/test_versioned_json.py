"""A disk filling up, or a file that cannot be created, in the middle of writing an artifact or a report (issue
28, 9): a :class:`WriteError` naming the file and the cause, nothing half-written left in its place, whatever was
there before kept. The fault is injected at ``open``, for one file name only, so every writer is caught however
it opens its file (``Path.write_text``, ``np.savez`` on a path, ``open``)."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from rgd.data.jsonl import read_jsonl, write_jsonl
from rgd.data.versioned_json import atomic_file, read_versioned_json, write_versioned_json
from rgd.errors import RGDError, WriteError

ROOM = 40  # bytes (or characters) a full disk still takes before it fails


class _FullDisk:
    """A file that takes ``ROOM`` more bytes, then fails as a full disk does."""

    def __init__(self, fh) -> None:
        self._fh, self._room = fh, ROOM

    def write(self, data):
        if len(data) > self._room:
            self._fh.write(data[: self._room])
            self._fh.flush()
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()


def inject_write_fault(monkeypatch, name: str, fault: str = "ENOSPC") -> None:
    """Every file named ``name`` (or a temporary file written for it: ``.name.*``) opened for writing from now
    on fails: ``ENOSPC`` after ``ROOM`` bytes, ``EACCES`` at once (this suite runs as root, which chmod does
    not stop)."""
    real_open = io.open

    def faulty_open(file, mode="r", *args, **kwargs):
        base = Path(os.fsdecode(file)).name if isinstance(file, (str, bytes, os.PathLike)) else ""
        if any(m in mode for m in "wax+") and (base == name or base.startswith(f".{name}.")):
            if fault == "EACCES":
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
            return _FullDisk(real_open(file, mode, *args, **kwargs))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", faulty_open)
    monkeypatch.setattr(builtins, "open", faulty_open)


def _only(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("fault, reason", [("ENOSPC", "No space left on device (ENOSPC)"),
                                           ("EACCES", "Permission denied (EACCES)")])
def test_a_failed_json_write_names_the_file_and_keeps_what_was_there(tmp_path, monkeypatch, fault, reason):
    path = tmp_path / "router.json"
    write_versioned_json(path, "rgd-test", 1, {"kept": True})
    inject_write_fault(monkeypatch, "router.json", fault)
    with pytest.raises(WriteError) as err:
        write_versioned_json(path, "rgd-test", 1, {"rows": list(range(1000))})
    assert isinstance(err.value, RGDError) and isinstance(err.value, OSError)
    assert str(err.value) == f"{path}: cannot write it: {reason}; nothing half-written is left in its place"
    assert err.value.path == str(path) and err.value.errno == getattr(errno, fault)
    assert read_versioned_json(path, "rgd-test", 1, what="test")["kept"] is True  # the old file, whole
    assert _only(tmp_path) == ["router.json"]  # no temporary file left beside it


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.jsonl.gz"])
def test_a_jsonl_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch, name):
    rows = [{"question_id": str(i), "text": "x" * 50} for i in range(20)]
    write_jsonl(tmp_path / name, rows)
    assert [obj for _, obj in read_jsonl(tmp_path / name)] == rows
    inject_write_fault(monkeypatch, name)
    with pytest.raises(WriteError, match=rf"{name}: cannot write it: No space left on device"):
        write_jsonl(tmp_path / name, rows * 10)
    assert [obj for _, obj in read_jsonl(tmp_path / name)] == rows and _only(tmp_path) == [name]


def test_an_error_inside_the_block_leaves_nothing_and_goes_through(tmp_path):
    with pytest.raises(KeyError):
        with atomic_file(tmp_path / "a.npy") as fh:
            np.save(fh, np.arange(3))
            raise KeyError("the caller's own error")
    assert _only(tmp_path) == []


def test_a_router_bundle_that_cannot_be_written_leaves_no_bundle(tmp_path, monkeypatch):
    from rgd.routers.bundle import RouterBundle
    from tests.rgd.tracking.synthetic import fit_bundle

    bundle = fit_bundle("cascal")
    for name in ("arrays.npz", "manifest.json"):  # the router's arrays (early), the manifest (last)
        inject_write_fault(monkeypatch, name)
        target = tmp_path / name / "bundle"
        with pytest.raises(WriteError) as err:
            bundle.save(target)
        assert str(err.value).startswith(f"{target}/") and f"/{name}: cannot write it: No space left" in str(err.value)
        assert str(err.value).endswith(f"the router bundle {target} was not saved, and nothing of it is left")
        assert not target.exists() and _only(target.parent) == []
        (target.parent / "empty").mkdir()  # an empty directory given: emptied again, kept
        with pytest.raises(WriteError):
            bundle.save(target.parent / "empty")
        assert _only(target.parent / "empty") == []
        monkeypatch.undo()
    assert RouterBundle.load(bundle.save(tmp_path / "fine")).models == bundle.models


def test_the_evaluation_report_is_never_half_written(tmp_path, monkeypatch):
    from rgd.evaluation.report import write_evaluation

    evaluation = {"n_test": 3, "routers": {"cascal": {"top1": 0.5, "top3_vote": 0.6, "per_subject": {}}}}
    write_evaluation(evaluation, tmp_path)
    before = (tmp_path / "evaluation.csv").read_text()
    inject_write_fault(monkeypatch, "evaluation.csv")
    bigger = {**evaluation, "routers": {f"r{i}": evaluation["routers"]["cascal"] for i in range(50)}}
    with pytest.raises(WriteError, match="evaluation.csv: cannot write it: No space left on device"):
        write_evaluation(bigger, tmp_path)
    assert (tmp_path / "evaluation.csv").read_text() == before
    assert json.loads((tmp_path / "evaluation.json").read_text())["routers"].keys() == bigger["routers"].keys()
    assert _only(tmp_path) == ["evaluation.csv", "evaluation.json"]
