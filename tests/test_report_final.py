"""The final evaluation report (issue 12): `planwatch export --final` over a real small warehouse, real kaleido
rendering and pikepdf; results, counts, the missed-binding list, and byte-for-byte reproducibility."""

from __future__ import annotations

import json
import subprocess

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from engine_fixtures import add_batch, definitions, indicator, make_warehouse, plan, target, utc
from warehouse.cli import _register, app
from warehouse.engine import Engine
from warehouse.report_final import counts, final_results, missed_binding


def _defs():
    inds = [indicator("svc", zh="服务设施覆盖率", en="Facility coverage",
                      lead_department=[{"zh": "民政局", "en": "Civil Affairs"}, {"zh": "经信局", "en": "Economy"}]),
            indicator("orgs", zh="社会组织数", en="Organisations")]
    return definitions(inds, [plan("chongqing_2021", "50", [
        target("svc", 100, baseline=50, applies_at=("county",), attribute="binding"),
        target("orgs", 10, baseline=5, applies_at=("county",)),
    ])])


@pytest.fixture()
def setup(tmp_path):
    wh = make_warehouse(tmp_path / "wh")
    add_batch(wh, [
        {"region_code": c, "indicator_id": i, "period": "2020", "value": v}
        for c in ("500101", "500102", "500110", "500229") for i, v in (("svc", 50), ("orgs", 5))
    ] + [
        {"region_code": "500101", "indicator_id": "svc", "period": "2025", "value": 100},   # achieved
        {"region_code": "500102", "indicator_id": "svc", "period": "2025", "value": 96},    # not achieved, gap 4
        {"region_code": "500110", "indicator_id": "svc", "period": "2024", "value": 99},    # 2025 never sent
        {"region_code": "500101", "indicator_id": "orgs", "period": "2025", "value": 12},
    ], "2026-02-15")
    defs = _defs()
    path = tmp_path / "defs.yaml"
    path.write_text(yaml.safe_dump(defs.model_dump(mode="json", by_alias=True), allow_unicode=True), encoding="utf-8")
    return wh, defs, path


def test_final_results_counts_and_missed_binding(setup):
    wh, defs, _ = setup
    res = final_results(Engine(wh.path, defs), "chongqing_2021", "50", utc("2026-03"))
    svc = {r["region_code"]: r for r in res.filter(pl.col("indicator_id") == "svc").iter_rows(named=True)}
    assert svc["500101"]["result"] == "achieved"
    assert (svc["500102"]["result"], svc["500102"]["gap"]) == ("not_achieved", 4)
    # deadline 2025-12-31 + 30 + 30 = 2026-03-01 < 2026-03-31: no 2025 value -> not reported, gap empty
    assert (svc["500110"]["result"], svc["500110"]["gap"]) == ("not_reported", None)
    assert svc["500229"]["result"] == "not_reported"
    # binding first
    assert res["attribute"].to_list()[: len(svc)] == ["binding"] * len(svc)
    n = {r["result"]: r["n"] for r in counts(res).iter_rows(named=True)}
    assert n == {"achieved": 2, "not_achieved": 1, "not_reported": 5, "awaiting": 0}
    missed = missed_binding(res)
    assert sorted(missed["region_code"].to_list()) == ["500102", "500110", "500229"]
    assert set(missed["lead_department_zh"].to_list()) == {"民政局、经信局"}  # several lead units
    # before the deadline (as of 2026-02): the district without a 2025 value is awaited, not judged
    early = final_results(Engine(wh.path, defs), "chongqing_2021", "50", utc("2026-02"))
    row = early.filter((pl.col("indicator_id") == "svc") & (pl.col("region_code") == "500110")).row(0, named=True)
    assert (row["result"], row["status"]) == ("awaiting", "on_schedule")


def test_cli_final_export_is_reproducible_and_readable(setup, tmp_path):
    wh, _, defs_path = setup
    _register()
    runner = CliRunner()
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        res = runner.invoke(app, ["export", "--final", "--plan", "chongqing_2021", "--region", "50", "--month", "2026-03",
                                  "--out", str(out), "--warehouse", str(wh.path), "--defs", str(defs_path)])
        assert res.exit_code == 0, res.output
        outs.append(json.loads((out / "manifest.json").read_text(encoding="utf-8")))
    a, b = outs
    assert [f["sha256"] for f in a["files"]] == [f["sha256"] for f in b["files"]]  # same bytes
    assert [f["format"] for f in a["files"]] == ["pdf", "xlsx"]
    assert a["counts"] == {"achieved": 2, "not_achieved": 1, "not_reported": 5, "awaiting": 0}
    assert a["as_of"] == "2026-03-31T16:00:00Z" and len(a["batch_ids"]) == 1
    pdf = tmp_path / "a" / a["files"][0]["name"]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # (pdftotext maps some glyphs to CJK radicals, e.g. 民 -> ⺠: compare on characters it keeps)
    assert "规划终期评估报告" in text and "未报送" in text and "政局、经信局" in text
    import zipfile

    with zipfile.ZipFile(tmp_path / "a" / a["files"][1]["name"]) as book:
        names = book.namelist()
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "xl/worksheets/sheet2.xml" in names  # results and counts
    assert sheet.count("<row ") == 9  # header + 8 results
    assert all(w in strings for w in ("not_reported", "未报送", "已达标", "500229"))


def test_cli_final_bad_input(setup, tmp_path):
    wh, _, defs_path = setup
    _register()
    runner = CliRunner()
    common = ["--out", str(tmp_path / "x"), "--warehouse", str(wh.path), "--defs", str(defs_path)]
    res = runner.invoke(app, ["export", "--final", *common])
    assert res.exit_code == 2 and "--plan" in res.output
    res = runner.invoke(app, ["export", "--final", "--plan", "nope", *common])
    assert res.exit_code == 2 and "未知规划" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["export", "--final", "--plan", "chongqing_2021", "--month", "2026-13", *common])
    assert res.exit_code == 2 and "2026-03" in res.output
    assert not (tmp_path / "x").exists()


def test_cli_final_protects_the_out_folder(setup, tmp_path, monkeypatch):
    """--final is protected like the monthly export (warehouse/export_out.py): another export's manifest is not
    written over without --force, --out that is a file is refused, a failed write leaves the folder as it was."""
    import errno
    from pathlib import Path

    wh, _, defs_path = setup
    _register()
    runner = CliRunner()

    def final(out, *extra, month="2026-03"):
        return runner.invoke(app, ["export", "--final", "--plan", "chongqing_2021", "--region", "50", "--month", month,
                                   "--out", str(out), "--warehouse", str(wh.path), "--defs", str(defs_path), *extra])

    out = tmp_path / "monthly"
    out.mkdir()
    monthly = {"month": "2026-03", "latest": False, "region": "50", "plan_id": "chongqing_2021", "lang": "zh"}
    (out / "manifest.json").write_text(json.dumps(monthly), encoding="utf-8")  # the monthly export of that month
    res = final(out)
    assert res.exit_code == 2 and "another export's manifest.json" in res.output and "--force" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]  # nothing written, nothing rendered
    res = final(out, "--force")
    assert res.exit_code == 0, res.output
    written = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert written["kind"] == "final_evaluation" and not (out / ".planwatch-export.tmp").exists()
    assert final(out, month="2026-04").exit_code == 2  # another final (other month): refused too
    # a monthly export refuses the final's manifest in turn (the kind differs)
    from warehouse import export_out
    with pytest.raises(export_out.OutDirError):
        export_out.check_not_another_export(out, {**monthly, "kind": None})

    afile = tmp_path / "afile"
    afile.write_text("x")
    res = final(afile)
    assert res.exit_code == 2 and "--out is a file, not a folder" in res.output and "Traceback" not in res.output

    # the disk fills up while the files are written: a clear message, the folder as it was, no staging left
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(".part"):
            real(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    import contextlib

    from warehouse import export

    pdf = (out / written["files"][0]["name"]).read_bytes()  # no second browser render: the write is what fails
    monkeypatch.setattr(export, "render_session", contextlib.nullcontext)
    monkeypatch.setattr(export, "_render", lambda *args, **kwargs: pdf)
    monkeypatch.setattr(Path, "write_bytes", full)
    res = final(out)
    monkeypatch.setattr(Path, "write_bytes", real)
    assert res.exit_code == 2 and "disk is full" in res.output and "no new file" in res.output, res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
