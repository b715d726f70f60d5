"""Hostile-submission measurements for docs/submissions.md and issue 11 (not part of the test suite).

    .venv/bin/python -m bench.ingest_hostile make DIR      # write the files
    .venv/bin/python -m bench.ingest_hostile run FILE      # prepare_submission on one file: seconds, peak RSS, report size

Files: bad_codes_1m.csv (1,000,000 rows, every region code distinct and unknown), good_1m.csv (the same with
valid codes), one_bad_10k.csv (10,000 rows, one bad value, 4,000 duplicated rows), big_256mb.csv (about 256 MB
of valid rows); `make-encodings DIR`: big_256mb_gbk.csv (the same rows in GBK) and big_256mb_quoted.csv (every
field quoted, 4.5 M rows: about 256 MB).
"""

from __future__ import annotations

import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent
INDICATORS = ["volunteers", "volunteers_2", "volunteers_3", "volunteers_4", "volunteers_5", "volunteers_6"]
MONTHS = [f"{y}-{m:02d}" for y in range(2005, 2025) for m in range(1, 13)]


def _definitions():
    from warehouse.definitions import Aggregation, Definitions, Indicator, Text

    return Definitions(indicators=[
        Indicator(id=ind, name=Text(zh=f"社区志愿者人数{k}"), unit=Text(zh="人"),
                  aggregation=Aggregation(rule="sum"), frequency="monthly",
                  reported_at=["province", "city", "county", "township", "community"])
        for k, ind in enumerate(INDICATORS)
    ], plans=[])


def _registry():
    from warehouse.regions import RegionRegistry

    return RegionRegistry.load(ROOT / "sample_data" / "regions.parquet")


def _valid_frame(n: int) -> pl.DataFrame:
    codes = _registry().frame.filter(pl.col("level") != "country")["code"].to_list()
    pairs = len(codes) * len(MONTHS) * len(INDICATORS)
    assert n <= pairs, (n, pairs)
    i = pl.int_range(0, n, eager=True)
    return pl.DataFrame({
        "地区代码": pl.Series(codes).gather(i // len(MONTHS) % len(codes)),
        "指标代码": pl.Series(INDICATORS).gather(i // (len(MONTHS) * len(codes))),
        "统计期": pl.Series(MONTHS).gather(i % len(MONTHS)),
        "数值": (i * 37 % 5000).cast(pl.String),
    })


def make(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    good = _valid_frame(1_000_000)
    good.write_csv(folder / "good_1m.csv")
    good.with_columns(pl.format("99{}", pl.int_range(0, pl.len()).cast(pl.String).str.zfill(10)).alias("地区代码")) \
        .write_csv(folder / "bad_codes_1m.csv")
    small = _valid_frame(10_000)
    small = small.with_columns(
        pl.when(pl.int_range(0, pl.len()) % 5 < 2).then(pl.lit("2024-12")).otherwise(pl.col("统计期")).alias("统计期"))
    small = small.with_columns(pl.when(pl.int_range(0, pl.len()) == 7_000).then(pl.lit("abc"))
                               .otherwise(pl.col("数值")).alias("数值"))
    small.write_csv(folder / "one_bad_10k.csv")
    big = _valid_frame(5_400_000).with_columns(备注=pl.lit("核实无误"))
    big.write_csv(folder / "big_256mb.csv")
    for p in sorted(folder.iterdir()):
        print(p.name, p.stat().st_size)


def make_encodings(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    big = _valid_frame(5_400_000).with_columns(备注=pl.lit("核实无误"))
    (folder / "big_256mb_gbk.csv").write_bytes(big.write_csv().encode("gb18030"))
    _valid_frame(4_500_000).with_columns(备注=pl.lit("核实无误")).write_csv(folder / "big_256mb_quoted.csv",
                                                                        quote_style="always")
    for p in sorted(folder.iterdir()):
        print(p.name, p.stat().st_size)


def run(path: Path) -> None:
    from warehouse.ingest import prepare_submission, write_rejections_csv

    start = time.perf_counter()
    prepared = prepare_submission(path, _definitions(), _registry(), now=NOW)
    seconds = time.perf_counter() - start
    out = path.with_suffix(".rejections.csv")
    if prepared.rejections.height:
        write_rejections_csv(prepared.rejections, out)
    total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime  # less disturbed than wall time on a loaded shared machine
    size = out.stat().st_size if out.exists() else 0
    lines = out.read_bytes().count(b"\n") if out.exists() else 0
    print(f"{path.name}: prepare {seconds:.2f} s, with report {total:.2f} s, CPU {cpu:.1f} s, peak RSS {peak:.0f} MB, "
          f"rows {prepared.n_rows}, valid {prepared.n_valid}, rejected {prepared.n_rejected}, "
          f"report {size / 1e6:.2f} MB / {lines} lines, file_error={prepared.file_error!r:.200}")
    if out.exists():
        text = out.read_text(encoding="utf-8-sig").splitlines()
        for i, line in enumerate(text):
            if "abc" in line:
                print(f"  'abc' cell on report line {i + 1}")
                break
        print("  " + "\n  ".join(line[:160] for line in text[:6]))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    elif sys.argv[1] == "make-encodings":
        make_encodings(Path(sys.argv[2]))
    else:
        run(Path(sys.argv[2]))
