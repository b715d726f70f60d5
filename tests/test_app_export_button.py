"""AppTest of the sidebar's export control: the zip holds the same files and manifest as `planwatch export`."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from streamlit.testing.v1 import AppTest

from app_helpers import ROOT, open_page


def test_export_button_builds_the_zip_for_the_current_view(sample_warehouse, monkeypatch):
    monkeypatch.setenv("PLANWATCH_WAREHOUSE", str(sample_warehouse))
    monkeypatch.setenv("PLANWATCH_DEFS", str(ROOT / "indicator_defs.yaml"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=240)
    open_page(at, plan="wansheng_2016", region="group:wansheng", month="2020-12")
    assert not at.sidebar.get("download_button")  # nothing is built until asked
    at.button(key="pw_export_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    key, name, blob = at.session_state["pw_export"]
    assert name.endswith(".zip") and "2020-12" in name
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(next(n for n in names if n.endswith("manifest.json"))))
        listed = {entry["name"] for entry in manifest["files"]}
        assert any(n.endswith("_report.pdf") for n in names)
        pngs = [n for n in names if n.endswith(".png")]
        assert pngs and all(archive.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)
        assert {n.rsplit("/", 1)[-1] for n in names if not n.endswith("manifest.json")} <= {
            str(f).rsplit("/", 1)[-1] for f in listed}
        members = {n.rsplit("/", 1)[-1]: n for n in names}
        for entry in manifest["files"]:  # the checksums in the manifest are those of the zipped files
            assert hashlib.sha256(archive.read(members[entry["name"]])).hexdigest() == entry["sha256"]
    assert dict(key)["region"] == "group:wansheng"
    # changing the view drops the zip: it would not match what is on screen
    at.query_params["month"] = "2019-12"
    at.selectbox(key="pw_w_month").set_value("2019-12").run()
    assert not at.exception
    assert at.button(key="pw_export_build") is not None
