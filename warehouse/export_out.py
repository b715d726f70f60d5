"""The export's output folder: checked before any work, written all-or-nothing, tidied after a failure.

- `check_out_dir(out_dir)`: `--out` must be a folder (or not exist yet) that this process can write into;
- `check_not_another_export(out_dir, identity, force)`: a folder holding another export's manifest.json
  (another kind — monthly or `--final` —, month, region, plan, language or --latest) is not written over unless
  `--force`; re-exporting the
  same thing replaces it (the files have the same names, the figures are reproducible);
- `staging(out_dir)`: the export is written into `<out>/.planwatch-export.tmp/` first; `publish` then moves
  every file into place with os.replace (no copy, no extra space), manifest.json last, so a disk that fills up
  mid-way leaves no half-written file and no manifest describing files that are not there;
- `clean_leftovers(out_dir)`: a later run removes what an interrupted one left (the staging folder, `*.part`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

STAGING = ".planwatch-export.tmp"
MANIFEST_NAME = "manifest.json"
IDENTITY_KEYS = ("kind", "month", "latest", "region", "plan_id", "lang")  # kind: None (monthly) or "final_evaluation"


class OutDirError(ValueError):
    """The output folder cannot take this export (message zh / en)."""


def check_out_dir(out_dir: Path) -> None:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutDirError(f"--out 是一个文件而不是文件夹：{out_dir} / --out is a file, not a folder: {out_dir}")
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutDirError(f"--out 路径中有一部分是文件：{probe} / a part of --out is a file, not a folder: {probe}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutDirError(f"没有权限写入文件夹 {probe} / cannot write into the folder {probe} (permission denied)")


def check_not_another_export(out_dir: Path, identity: dict, force: bool = False) -> None:
    manifest = Path(out_dir) / MANIFEST_NAME
    if force or not manifest.exists():
        return
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        same = isinstance(old, dict) and all(old.get(k) == identity.get(k) for k in IDENTITY_KEYS)
        what = ", ".join(f"{k}={old.get(k)}" for k in IDENTITY_KEYS if k in old) if isinstance(old, dict) else "?"
    except (OSError, ValueError):
        same, what = False, "无法读取 / unreadable"
    if not same:
        raise OutDirError(
            f"{out_dir} 中已有另一次导出的 manifest.json（{what}）；请换一个文件夹，或加 --force 覆盖"
            f" / {out_dir} already holds another export's manifest.json ({what}); choose another folder or add --force"
        )


def clean_leftovers(out_dir: Path) -> int:
    """Remove the staging folder and `*.part` files an interrupted export left; returns how many."""
    out_dir = Path(out_dir)
    removed = 0
    stage = out_dir / STAGING
    if stage.is_dir():
        shutil.rmtree(stage, ignore_errors=True)
        removed += 1
    for part in out_dir.glob("*.part"):
        try:
            part.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def staging(out_dir: Path) -> Path:
    stage = Path(out_dir) / STAGING
    stage.mkdir(parents=True, exist_ok=True)
    return stage


def publish(stage: Path, out_dir: Path, names: list[str]) -> None:
    """Move the staged files into out_dir (manifest.json last), then remove the staging folder."""
    ordered = [n for n in names if n != MANIFEST_NAME] + ([MANIFEST_NAME] if MANIFEST_NAME in names else [])
    for name in ordered:
        os.replace(stage / name, Path(out_dir) / name)
    shutil.rmtree(stage, ignore_errors=True)


def discard(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)
