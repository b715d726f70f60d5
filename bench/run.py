"""The national-scale benchmark: one command, one table (docs/benchmarks.md).

    .venv/bin/python -m bench.run [--tiers S,M,L] [--data DIR] [--regions PATH] [--repeat N]

Generates (or reuses, when the tier folder already holds a finished warehouse) the tier warehouses under --data,
then measures, per tier, the median / min / max of --repeat runs of each answer, and prints the table with the
machine and versions. `--probe` is internal: the cold-start / peak-RSS measurement run in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
AS_OF_MONTH = (2025, 6)  # the overview's as-of month (inside the 2021-2025 plans)
PARENT = "51"  # Sichuan: the province with the most governed indicators
INDICATOR = "service_facility_coverage"  # the indicator page's indicator (quarterly ratio, every level)
INGEST_ROWS = 1_000_000
# Peak bytes per stored row of the pandas alternative (read everything, then group): 4.4 GB for 20M rows in
# /work/shared/FIELD-NOTES.md. It is skipped, with the estimate in the note, when that exceeds MemAvailable.
PANDAS_BYTES_PER_ROW = 220


@dataclass
class Measure:
    name: str
    runs: list[float] = field(default_factory=list)
    unit: str = "s"
    note: str = ""
    cpu: list[float] = field(default_factory=list)  # process CPU seconds per run (every thread), when measured

    def cells(self) -> tuple[str, str, str]:
        if not self.runs:
            return ("n/a", "", "")
        fmt = (lambda v: f"{v:,.0f}") if self.unit in ("rows/s", "MB") else (lambda v: f"{v:.3f}")
        return fmt(statistics.median(self.runs)), fmt(min(self.runs)), fmt(max(self.runs))


def _timed(fn, repeat: int, cpu: list[float] | None = None) -> tuple[list[float], object]:
    """Wall seconds of each run (and, into `cpu`, the process CPU seconds: less inflated than wall time on a
    shared machine, since time spent waiting for a core is not counted)."""
    out, result = [], None
    for _ in range(repeat):
        start, used = time.perf_counter(), time.process_time()
        result = fn()
        out.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - used)
    return out, result


def load_average() -> float:
    """The 1-minute load average (as `uptime` shows it)."""
    return os.getloadavg()[0]


def _cpu_ratio(mine: Measure, other: Measure) -> str:
    if not mine.cpu or not other.cpu:
        return ""
    a, b = statistics.median(mine.cpu), statistics.median(other.cpu)
    return f"; CPU {a:.3f} vs {b:.3f} s = {a / b:.1f}x"


def machine() -> str:
    import duckdb
    import pandas
    import pyarrow

    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    cpu = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{date.today().isoformat()} · {os.cpu_count()} cores ({cpu}) · {mem / 1024:.1f} GiB · "
            f"{platform.system()} {platform.release()} · Python {platform.python_version()} · duckdb {duckdb.__version__}"
            f" · polars {pl.__version__} · pandas {pandas.__version__} · pyarrow {pyarrow.__version__}")


def _definitions():
    from warehouse.defs_loader import load_definitions

    result = load_definitions(REPO / "indicator_defs.yaml")
    if result.definitions is None:
        raise SystemExit("indicator_defs.yaml 有错误 / has errors: planwatch defs validate")
    return result.definitions


def _as_of():
    from warehouse.periods import month_end_utc

    return month_end_utc(*AS_OF_MONTH)


# ------------------------------------------------------------------ tiers
def ensure_tier(tier: str, data: Path, regions_dir: Path, definitions, registry_cache: dict) -> tuple[Path, dict]:
    """The tier's warehouse folder, generated unless already complete, with its versions table built for the
    current table version (the state after `planwatch warehouse compact`; a tier of the old manifest layout is
    migrated first, `planwatch warehouse migrate`). Returns the folder and the seconds spent:
    {"generate": s or None (reused), "versions": s or None (already built)}."""
    from bench.generate import bench_registry, build_rollups, build_versions, generate_tier, rollups_ready, versions_ready

    wh = data / tier
    spent: dict = {"generate": None, "versions": None}
    if not (wh / "table" / "_delta_log").is_dir() and not (wh / "manifest.json").exists():
        if wh.exists():
            shutil.rmtree(wh)  # an interrupted generation
        start = time.perf_counter()
        if tier == "S":
            from warehouse.sample import generate_sample

            generate_sample(wh, seed=7, today=date(2025, 12, 20), definitions=definitions)
        else:
            if "full" not in registry_cache:
                registry_cache["full"] = bench_registry(regions_dir)
            tmp = data / f".{tier}.partial"
            if tmp.exists():
                shutil.rmtree(tmp)
            generate_tier(tmp, tier, definitions, registry_cache["full"], versions=False)
            os.replace(tmp, wh)
        spent["generate"] = time.perf_counter() - start
    if (wh / "manifest.json").exists() and not (wh / "table" / "_delta_log").is_dir():
        from warehouse.migrate import migrate  # a tier generated before the Delta table (issue 14)

        start = time.perf_counter()
        migrate(wh)
        spent["migrate"] = time.perf_counter() - start
    if not versions_ready(wh):
        start = time.perf_counter()
        build_versions(wh)
        spent["versions"] = time.perf_counter() - start
    elif not rollups_ready(wh):
        start = time.perf_counter()
        build_rollups(wh)
        spent["rollups"] = time.perf_counter() - start
    return wh, spent


# ------------------------------------------------------------------ probes
def overview_task(engine, parent: str, as_of):
    from bench.baselines import OverviewTask, community_counts, indicator_meta
    from warehouse.engine import as_of_date

    snap = engine.warehouse.snapshot(as_of)
    kids = engine.children(parent)
    cutoffs = engine._assess_frame(kids, list(engine.defs.indicators), as_of, None).select(
        "region_code", "indicator_id", cutoff="value_cutoff")
    return OverviewTask(files=snap.files, children=kids, as_of=as_of.replace(tzinfo=None),
                        cutoff=as_of_date(as_of), cutoffs=cutoffs, indicators=indicator_meta(engine.defs),
                        communities=community_counts(engine.registry))


def engine_answer(frame: pl.DataFrame) -> pl.DataFrame:
    """The planwatch overview frame reduced to the comparable answer (rows with a value)."""
    from bench.baselines import _finish

    return _finish(frame.filter(pl.col("value").is_not_null()).select("region_code", "indicator_id", "period", "value"))


def compare(planwatch: pl.DataFrame, other: pl.DataFrame, rel: float = 1e-9) -> list[str]:
    """Differences between planwatch's answer and an alternative's, on planwatch's (region, indicator) pairs."""
    keys = ["region_code", "indicator_id"]
    joined = planwatch.join(other, on=keys, how="left", suffix="_alt")
    problems = []
    for r in joined.iter_rows(named=True):
        if r["period_alt"] is None:
            problems.append(f"{r['region_code']} {r['indicator_id']}: missing (planwatch {r['period']} = {r['value']})")
        elif r["period"] != r["period_alt"] or abs(r["value"] - r["value_alt"]) > rel * max(1.0, abs(r["value"])):
            problems.append(f"{r['region_code']} {r['indicator_id']}: planwatch {r['period']} = {r['value']}, "
                            f"alternative {r['period_alt']} = {r['value_alt']}")
    extra = other.join(planwatch, on=keys, how="anti")
    problems += [f"{r['region_code']} {r['indicator_id']}: only in the alternative ({r['period']} = {r['value']})"
                 for r in extra.iter_rows(named=True)]
    return problems


def probe(wh: Path, parent: str) -> None:
    """Cold start in this fresh process: build the engine, answer the overview; print timings and peak RSS."""
    start = time.perf_counter()
    from warehouse.engine import Engine

    definitions = _definitions()
    t_import = time.perf_counter() - start
    engine = Engine(wh, definitions)
    t_engine = time.perf_counter() - start
    frame = engine.children_status(parent, as_of=_as_of())
    t_answer = time.perf_counter() - start
    rss_mb = peak_rss_mb()
    print(json.dumps({"import": t_import, "engine": t_engine, "cold": t_answer, "rows": frame.height, "rss_mb": rss_mb}))


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux keeps that across execve, so
    a probe started by a parent that had grown (e.g. after the ingest measure) would report the parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_probe(wh: Path, parent: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--probe", str(wh), "--parent", parent],
                          cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    if proc.returncode != 0:
        raise RuntimeError(f"probe failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ measures
def measure_ingest(data: Path, regions_dir: Path, definitions, registry_cache: dict, repeat: int) -> Measure:
    from bench.generate import Round, bench_registry, submission_file
    from warehouse.storage import Warehouse, ingest_file

    if "full" not in registry_cache:
        registry_cache["full"] = bench_registry(regions_dir)
    registry = registry_cache["full"]
    m = Measure("ingest, validated (1M-row CSV)", unit="rows/s")
    src = data / "ingest-1m.csv"
    if not src.exists():
        submission_file(src, registry, definitions, "township", Round(59, 2025, 12), n_rows=INGEST_ROWS)
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        regions_file = Path(tmp) / "regions.parquet"
        registry.save(regions_file)
        for k in range(repeat):
            wh = Warehouse(Path(tmp) / f"wh{k}")
            wh.init(regions=regions_file)
            start = time.perf_counter()
            result = ingest_file(wh, src, definitions, registry)
            seconds = time.perf_counter() - start
            if result.status != "accepted" or result.rows_accepted != INGEST_ROWS:
                m.note = f"unexpected: {result.summary('en')[:200]}"
                return m
            m.runs.append(INGEST_ROWS / seconds)
            shutil.rmtree(wh.path)
    return m


def measure_tier(tier: str, wh: Path, definitions, repeat: int, skip: set[str]) -> tuple[list[Measure], dict]:
    from bench.baselines import ALTERNATIVES
    from warehouse.engine import Engine

    as_of = _as_of()
    facts: dict = {}
    out: list[Measure] = []
    cold, rss = Measure("overview cold (new process)"), Measure("dashboard peak RSS (overview)", unit="MB")
    for _ in range(repeat):
        p = run_probe(wh, PARENT)
        cold.runs.append(p["cold"] - p["import"])
        rss.runs.append(p["rss_mb"])
        facts["probe"] = p
    cold.note = "engine build + first answer, imports excluded"
    engine = Engine(wh, definitions)
    engine.children_status(PARENT, as_of=as_of)  # warm-up (files in the OS cache, imports, DuckDB loaded)
    answers = {
        "overview": lambda: engine.children_status(PARENT, as_of=as_of),
        "indicator page (trajectory + children)": lambda: (
            engine.trajectory(PARENT, INDICATOR, as_of=as_of),
            engine.children_status(PARENT, as_of=as_of, indicator=INDICATOR)),
        "rankings (composite)": lambda: engine.rank(PARENT, "composite", as_of=as_of),
    }
    # warm, query run every time (the engine's result cache off): the honest warm number
    engine.cache.enabled = False
    uncached = {name: Measure(f"{name} warm, cache off") for name in answers}
    for name, fn in answers.items():
        uncached[name].runs, result = _timed(fn, repeat, uncached[name].cpu)
        if name == "overview":
            frame = result
    # the same with the roll-ups computed from the rows (the roll-up events off): what the events save
    engine.use_rollup_events = False
    from_rows = {name: Measure(f"{name} warm, cache off, roll-ups from the rows (events off)") for name in answers}
    for name, fn in answers.items():
        from_rows[name].runs, result = _timed(fn, repeat, from_rows[name].cpu)
        if name == "overview":
            problems = compare(engine_answer(frame), engine_answer(result))
            from_rows[name].note = "same answer as with the events" if not problems else (
                f"DIFFERENT answer from the events: {len(problems)} rows, e.g. {problems[0]}")
    engine.use_rollup_events = True
    # warm, result cache on (as the dashboard runs): the first call fills it, the repeats are hits
    engine.cache.enabled = True
    cached = {name: Measure(f"{name} warm, cache on", note="repeat of the same call (cache hit)") for name in answers}
    for name, fn in answers.items():
        fn()
        cached[name].runs = _timed(fn, repeat)[0]
    warm = uncached["overview"]
    if "limit" not in skip:
        limits = measure_limits(wh, engine, repeat)
        for name, m in limits.items():
            ratio = statistics.median(uncached[name].runs) / statistics.median(m.runs)
            uncached[name].note = f"planwatch/limit = {ratio:.1f}x" + _cpu_ratio(uncached[name], m)
    else:
        limits = {}
    answer = engine_answer(frame)
    facts["overview_rows"] = frame.height
    for name, m in from_rows.items():
        if name in limits:
            m.note = (m.note + "; " if m.note else "") + (
                f"planwatch/limit = {statistics.median(m.runs) / statistics.median(limits[name].runs):.1f}x"
                + _cpu_ratio(m, limits[name]))
    out += [m for m in [limits.get("overview")] if m] + [warm, from_rows["overview"], cached["overview"], cold]
    for name in list(answers)[1:]:
        out += [m for m in [limits.get(name)] if m] + [uncached[name], from_rows[name], cached[name]]
    out.append(measure_export(wh, repeat=1) if "export" not in skip else Measure("monthly export (one province)", note="skipped"))
    out.append(rss)
    task = overview_task(engine, PARENT, as_of)
    base = statistics.median(warm.runs)
    for name, fn in ALTERNATIVES.items():
        m = Measure(f"alternative ({name})")
        if name in skip:
            m.note = "skipped (--skip)"
            out.append(m)
            continue
        if name == "pandas":
            need, available = pandas_memory(engine.warehouse.snapshot(as_of).rows), available_memory()
            if need > available:
                m.note = (f"skipped: would need ~{need / 2**30:.0f} GB ({PANDAS_BYTES_PER_ROW} B/row), "
                          f"{available / 2**30:.0f} GB available")
                out.append(m)
                continue
        m.runs, other = _timed(lambda fn=fn: fn(task), repeat, m.cpu)
        problems = compare(answer, other)
        ratio = statistics.median(m.runs) / base
        m.note = (f"planwatch (cache off) is {ratio:.2f}x faster" if ratio >= 1
                  else f"planwatch (cache off) is {1 / ratio:.2f}x slower")
        m.note += _cpu_ratio(warm, m).replace("; CPU", "; CPU planwatch")
        m.note += "; same answer" if not problems else f"; DIFFERENT answer: {len(problems)} rows, e.g. {problems[0]}"
        out.append(m)
    return out, facts


LIMIT_SQL = """
    SELECT count(*), min("region_code"), max("indicator_id"), max("period_end"), sum("value"), sum("numerator"),
           sum("denominator"), max("ingested_at"), max("superseded_at")
    FROM read_parquet($file)
    WHERE "region_code" >= $lo AND "region_code" < $hi AND list_contains($indicators, "indicator_id")
      AND "ingested_at" <= $as_of AND ("superseded_at" IS NULL OR "superseded_at" > $as_of)
      AND "period_end" <= $cutoff
"""


def limit_scan(wh: Path, parent: str, indicators: list[str], as_of, cutoff) -> int:
    """The least work an exact answer needs: one plain DuckDB scan of the scope's rows in force as of the month
    in the compacted input the engine reads (the versions table), reading every column the answer uses (region,
    indicator, period end, value, numerator, denominator, ingested and superseded times), aggregated so each
    column is read and nothing is copied out; no window, no join. Returns the rows scanned."""
    from warehouse import current, duck

    pointer = current._read_pointer(wh)
    con = duck.connect()
    try:
        params = {"file": str(wh / pointer["file"]), "lo": parent, "hi": parent + ":", "indicators": indicators,
                  "as_of": as_of.replace(tzinfo=None), "cutoff": cutoff}
        return int(con.execute(LIMIT_SQL, params).fetchall()[0][0])
    finally:
        con.close()


def measure_limits(wh: Path, engine, repeat: int) -> dict[str, Measure]:
    """The limit rows of the overview, the indicator page and rankings (two months: two scans)."""
    from warehouse.engine import as_of_date, previous_month_end

    as_of = _as_of()
    every = [i.id for i in engine.defs.indicators]
    cutoff, last = as_of_date(as_of), previous_month_end(as_of)
    runs = {
        "overview": lambda: limit_scan(wh, PARENT, every, as_of, cutoff),
        "indicator page (trajectory + children)": lambda: limit_scan(wh, PARENT, [INDICATOR], as_of, cutoff),
        "rankings (composite)": lambda: (limit_scan(wh, PARENT, every, as_of, cutoff),
                                         limit_scan(wh, PARENT, every, last, as_of_date(last))),
    }
    out = {}
    for name, fn in runs.items():
        fn()  # warm-up: files in the OS cache
        m = Measure(f"limit: plain scan of the scope's rows ({name.split(' (')[0]})")
        m.runs, rows = _timed(fn, repeat, m.cpu)
        rows = rows if isinstance(rows, int) else sum(rows)
        m.note = f"{rows:,} rows of {PARENT} in the versions table, every needed column, no window or join"
        out[name] = m
    return out


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, in bytes."""
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def pandas_memory(rows: int) -> int:
    """Peak memory the pandas alternative needs: it reads every row of every batch into one frame."""
    return rows * PANDAS_BYTES_PER_ROW


def measure_export(wh: Path, repeat: int) -> Measure:
    m = Measure("monthly export (one province)")
    try:
        from warehouse.export import ExportOptions, run_export
    except ImportError:
        m.note = "n/a (export not available)"
        return m
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            options = ExportOptions(month=f"{AS_OF_MONTH[0]}-{AS_OF_MONTH[1]:02d}", out_dir=Path(tmp), region=PARENT,
                                    warehouse_dir=wh, defs_path=REPO / "indicator_defs.yaml")
            start = time.perf_counter()
            result = run_export(options)
            m.runs.append(time.perf_counter() - start)
            m.note = f"{len(result.files)} files" if result.ok else f"failed: {result}"
    return m


def _versions_note(wh: Path) -> str:
    pointer = json.loads((wh / "current" / "current.json").read_text(encoding="utf-8"))
    size = (wh / pointer["file"]).stat().st_size / 2**20 if pointer.get("file") else 0
    note = f"{pointer['rows']:,} rows, {size:,.0f} MB, table v{pointer['table_version']}"
    rollups = pointer.get("rollups") or {}
    if rollups.get("file"):
        mb = (wh / rollups["file"]).stat().st_size / 2**20
        note += f"; roll-up events {rollups['rows']:,} rows, {mb:,.0f} MB"
    return note


def table(rows: list[tuple[str, str, Measure]]) -> str:
    head = ("tier", "measure", "median", "min", "max", "unit", "note")
    body = [(t, m.name, *m.cells(), m.unit if m.runs else "", m.note) for t, _, m in rows]
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description="planwatch national-scale benchmark")
    parser.add_argument("--tiers", default="S,M,L")
    parser.add_argument("--data", type=Path, default=Path("/tmp/planwatch-bench"))
    default_regions = REPO.parent / "shared" / "data" / "regions"
    parser.add_argument("--regions", type=Path, default=default_regions)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma list of measures to skip: pandas, polars, duckdb, export, ingest, limit")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parent", default=PARENT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        probe(args.probe, args.parent)
        return 0
    tiers = [t.strip().upper() for t in args.tiers.split(",") if t.strip()]
    bad = [t for t in tiers if t not in ("S", "M", "L")]
    if bad:
        print(f"未知档位 / unknown tier(s): {', '.join(bad)} (S, M, L)", file=sys.stderr)
        return 2
    if any(t in ("M", "L") for t in tiers) and not (args.regions / "streets.csv").exists():
        print(f"找不到区划代码 / NBS region CSVs not found: {args.regions} (use --regions)", file=sys.stderr)
        return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.data.mkdir(parents=True, exist_ok=True)
    definitions = _definitions()
    cache: dict = {}
    rows: list[tuple[str, str, Measure]] = []
    print(machine(), flush=True)
    if "ingest" not in skip and any(t in ("M", "L") for t in tiers):
        rows.append(("-", "ingest", measure_ingest(args.data, args.regions, definitions, cache, args.repeat)))
    for tier in tiers:
        wh, spent = ensure_tier(tier, args.data, args.regions, definitions, cache)
        from warehouse.storage import Warehouse

        state = Warehouse(wh).state()
        n_rows = sum(f.rows for f in state.files)
        size = sum(Path(f.path).stat().st_size for f in state.files) / 2**20
        gen = Measure("warehouse generation", [spent["generate"]] if spent["generate"] is not None else [],
                      note=f"{n_rows:,} rows, {len(state.batches)} batches (Delta commits), {len(state.files)} "
                           f"data files after OPTIMIZE, {size:,.0f} MB"
                           + ("" if spent["generate"] is not None else " (reused)"))
        ver = Measure("compaction (Delta OPTIMIZE + versions table + roll-up events + VACUUM)",
                      [spent["versions"]] if spent["versions"] is not None else [],
                      note=_versions_note(wh) + ("" if spent["versions"] is not None else " (reused)"))
        rows += [(tier, "gen", gen), (tier, "versions", ver)]
        if spent.get("rollups") is not None:
            rows.append((tier, "rollups", Measure("roll-up events added to the reused versions table", [spent["rollups"]],
                                                  note="warehouse/rollup_events.py (compaction writes them now)")))
        if spent.get("migrate") is not None:
            rows.append((tier, "migrate", Measure("migration from the manifest layout (warehouse migrate)",
                                                  [spent["migrate"]], note="one Delta commit per batch, then compaction")))
        print(f"[{tier}] {gen.note}", flush=True)
        load_start = load_average()
        measures, _ = measure_tier(tier, wh, definitions, args.repeat, skip)
        rows += [(tier, m.name, m) for m in measures]
        load = Measure("load average (1 min, uptime) at start / end", [load_start, load_average()], unit="load",
                       note=f"{load_start:.1f} at the start of the tier's measures, {load_average():.1f} at the end")
        rows.append((tier, "load", load))
        print(table([r for r in rows if r[0] == tier]), flush=True)
    print()
    print(f"overview = Engine.children_status({PARENT!r}) as of {AS_OF_MONTH[0]}-{AS_OF_MONTH[1]:02d}; "
          f"indicator page: {INDICATOR}; median/min/max of {args.repeat} runs; ratios against the overview "
          f"warm with the cache off; tiers measured with the versions table built (state after compaction)")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
