"""Every status of a warehouse, written to one Parquet file, to compare two codebases or two layouts (the
migration check of issue 14: `planwatch warehouse migrate` must not change any answer).

    python -m bench.status_dump WAREHOUSE OUT.parquet [--scope all|children]

Uses only the Engine API, so the same script runs on the code before and after a storage change. `all`: the
status of every registry region (descendants_status of the country) as of several months; `children`: the
children of the country and of every province (tier M: every county), as of the same months.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
MONTHS = ("2016-06", "2020-12", "2023-03", "2025-06", None)


def dump(wh: Path, out: Path, scope: str) -> int:
    from warehouse.defs_loader import require_definitions
    from warehouse.engine import Engine
    from warehouse.periods import parse_as_of

    engine = Engine(wh, require_definitions(REPO / "indicator_defs.yaml"))
    engine.cache.enabled = False
    frames = []
    provinces = [c for c in engine.children("CN")]
    for month in MONTHS:
        as_of = parse_as_of(month) if month else parse_as_of("2025-11")
        if scope == "all":
            parts = [engine.descendants_status("CN", as_of=as_of)]
        else:
            parts = [engine.children_status("CN", as_of=as_of)] + [engine.children_status(p, as_of=as_of) for p in provinces]
        frames += [p.with_columns(pl.lit(month or "2025-11").alias("as_of_month")) for p in parts if p.height]
    frame = pl.concat(frames).sort("as_of_month", "region_code", "indicator_id")
    frame.write_parquet(out)
    return frame.height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.status_dump")
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scope", choices=("all", "children"), default="all")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    n = dump(args.warehouse, args.out, args.scope)
    print(f"{n} status rows in {time.perf_counter() - start:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
