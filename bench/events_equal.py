"""Every engine frame with the roll-up events and without them, compared exactly on a generated tier (issue 14).

    .venv/bin/python -m bench.events_equal --data /tmp/planwatch-bench --tier L \
        --parents CN,51,5101,5001 --months 2022-06,2024-12,2025-06

For each month and parent: children_status and status; for the second parent also rank (composite) and the
trajectories of every indicator. Fails (exit 1) at the first difference; prints how many calls the events answered.
With --build the tier's roll-up events are rebuilt first (what compaction does after the versions table), timed
(wall, CPU, peak RSS of this process).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from polars.testing import assert_frame_equal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/planwatch-bench"))
    parser.add_argument("--tier", default="M")
    parser.add_argument("--parents", default="CN,51,5101,5001")
    parser.add_argument("--months", default="2022-06,2024-12,2025-06")
    parser.add_argument("--build", action="store_true", help="rebuild the tier's roll-up events first (timed)")
    args = parser.parse_args(argv)
    if args.build:
        import resource

        from bench.generate import build_rollups

        start, cpu = time.perf_counter(), time.process_time()
        rows = build_rollups(args.data / args.tier)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"tier {args.tier}: roll-up events rebuilt: {rows:,} rows in {time.perf_counter() - start:.0f} s wall, "
              f"{time.process_time() - cpu:.0f} s CPU, peak RSS {peak:,.0f} MB", flush=True)

    from bench.run import _definitions
    from warehouse.engine import Engine
    from warehouse.periods import parse_as_of

    defs = _definitions()
    wh = args.data / args.tier
    events, rows = Engine(wh, defs), Engine(wh, defs)
    rows.use_rollup_events = False
    events.cache.enabled = rows.cache.enabled = False
    decided: list[bool] = []
    original = Engine._events

    def spy(self, *a):
        used = original(self, *a)
        if self.use_rollup_events:
            decided.append(used)
        return used

    Engine._events = spy
    parents = args.parents.split(",")
    ids = [i.id for i in defs.indicators]
    calls = 0
    start = time.perf_counter()
    for month in args.months.split(","):
        moment = parse_as_of(month)
        for parent in parents:
            assert_frame_equal(events.children_status(parent, as_of=moment), rows.children_status(parent, as_of=moment))
            assert_frame_equal(events.status(parent, as_of=moment), rows.status(parent, as_of=moment))
            calls += 2
        second = parents[min(1, len(parents) - 1)]
        assert_frame_equal(events.rank(second, "composite", as_of=moment), rows.rank(second, "composite", as_of=moment))
        got, ref = events.trajectories(second, ids, as_of=moment), rows.trajectories(second, ids, as_of=moment)
        assert got.keys() == ref.keys()
        for ind in got:
            assert_frame_equal(got[ind], ref[ind])
        calls += 1 + len(got)
        print(f"{month}: equal", flush=True)
    print(f"tier {args.tier}: {calls} frames equal with and without the roll-up events; the events answered "
          f"{sum(decided)} of {len(decided)} queries ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
