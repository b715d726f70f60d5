"""The export's output folder: a file as --out, an unwritable folder, another export's manifest, a full disk.

The full disk is simulated by monkeypatching `Path.write_bytes` (the export's only way of writing a file) to
raise ENOSPC after some files: a tmpfs cannot be mounted in the test container."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from warehouse import export, export_out
from warehouse.paths import REPO_ROOT

DEFS = REPO_ROOT / "indicator_defs.yaml"


@pytest.fixture(scope="module", autouse=True)
def one_browser():
    with export.render_session():
        yield


@pytest.fixture(scope="module")
def wh(sample_warehouse) -> Path:
    return sample_warehouse


def _options(wh: Path, out: Path, **overrides) -> export.ExportOptions:
    values = dict(month="2025-12", out_dir=out, region="50", plan_id="chongqing_2021", lang="zh",
                  formats=("svg",), warehouse_dir=wh, defs_path=DEFS, indicators=("volunteer_share",))
    values.update(overrides)
    return export.ExportOptions(**values)


def test_out_that_is_a_file_is_refused_before_any_work(wh, tmp_path):
    target = tmp_path / "report.pdf"
    target.write_text("not a folder")
    with pytest.raises(export.ExportError, match="--out is a file, not a folder"):
        export.collect(_options(wh, target))
    with pytest.raises(export.ExportError, match="a part of --out is a file"):
        export.collect(_options(wh, target / "sub"))
    assert target.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_folder_is_refused(wh, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(export.ExportError, match="cannot write into the folder"):
            export.collect(_options(wh, locked / "out"))
    finally:
        locked.chmod(0o700)


def test_permission_denied_while_writing_gives_a_message(wh, tmp_path, monkeypatch):
    """(The same as above for root, who passes os.access: the write itself is refused.)"""
    out = tmp_path / "out"
    data = export.collect(_options(wh, out))

    def refuse(self, blob):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(export.ExportError, match="permission denied") as info:
        export.write_export(data, _options(wh, out))
    assert str(tmp_path) not in str(info.value)
    assert [p.name for p in out.iterdir()] == []


def test_another_exports_manifest_is_not_overwritten_without_force(wh, tmp_path):
    out = tmp_path / "out"
    first = export.run_export(_options(wh, out))
    assert first.ok
    before = (out / "manifest.json").read_bytes()
    # the same export again: replaced (reproducible)
    assert export.run_export(_options(wh, out)).ok
    # another month into the same folder: refused, nothing changed
    with pytest.raises(export.ExportError, match="already holds another export's manifest.json"):
        export.run_export(_options(wh, out, month="2025-06"))
    assert json.loads((out / "manifest.json").read_bytes())["month"] == "2025-12"
    # an unreadable manifest.json is not ours to overwrite either
    (out / "manifest.json").write_text("{ not json")
    with pytest.raises(export.ExportError, match="unreadable"):
        export.run_export(_options(wh, out))
    # --force
    (out / "manifest.json").write_bytes(before)
    assert export.run_export(_options(wh, out, month="2025-06", force=True)).ok
    assert json.loads((out / "manifest.json").read_bytes())["month"] == "2025-06"


def test_disk_full_leaves_nothing_half_written_and_the_next_run_cleans_up(wh, tmp_path, monkeypatch):
    out = tmp_path / "out"
    options = _options(wh, out, formats=("svg", "pdf"))
    data = export.collect(options)
    real = Path.write_bytes
    calls = {"n": 0}

    def fill_up(self, blob):
        calls["n"] += 1
        if calls["n"] >= 3:  # the first two files fit
            real(self, blob[: len(blob) // 2])  # a partial write, as a full disk leaves it
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, blob)

    monkeypatch.setattr(Path, "write_bytes", fill_up)
    with pytest.raises(export.ExportError, match="the disk is full") as info:
        export.write_export(data, options)
    assert str(tmp_path) not in str(info.value)
    assert calls["n"] >= 3
    # nothing of this run is in place: no chart, no report, no manifest, no staging folder, no .part
    assert list(out.iterdir()) == []
    monkeypatch.setattr(Path, "write_bytes", real)

    # a run killed mid-way (no chance to tidy) leaves its staging folder and a .part file: the next run removes them
    stage = out / export_out.STAGING
    stage.mkdir()
    (stage / "half.svg.part").write_bytes(b"<svg")
    (out / "stray.pdf.part").write_bytes(b"%PDF")
    result = export.write_export(data, options)
    assert result.ok
    names = sorted(p.name for p in out.iterdir())
    assert "manifest.json" in names and not [n for n in names if n.endswith(".part") or n == export_out.STAGING]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(f["name"] for f in manifest["files"]) == sorted(n for n in names if n != "manifest.json")
