"""Ingest speed of the code in a folder, for before/after comparisons on one machine in the same minutes:

    git archive 1c06b29 | tar -x -C /tmp/old
    .venv/bin/python -m bench.ingest_ab /tmp/old      # then: .venv/bin/python -m bench.ingest_ab .

Runs `bench.run.measure_ingest` (a generated 1 M-row CSV into a fresh warehouse with the full registry, 3 times)
with that folder's `warehouse` and `bench` packages first on sys.path, and prints rows/s per run and the median.
Data in /tmp/planwatch-bench (the CSV is generated once)."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path


def main() -> None:
    code = str(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
    sys.path.insert(0, code)
    for name in [m for m in sys.modules if m.split(".")[0] in ("warehouse", "bench")]:
        del sys.modules[name]
    from bench.run import _definitions, measure_ingest  # noqa: PLC0415 - from the folder just put first

    regions = Path(__file__).resolve().parents[2] / "shared" / "data" / "regions"
    m = measure_ingest(Path("/tmp/planwatch-bench"), regions, _definitions(), {}, 3)
    print(code, [round(r) for r in m.runs], "median", round(statistics.median(m.runs)) if m.runs else None, m.note)


if __name__ == "__main__":
    main()
