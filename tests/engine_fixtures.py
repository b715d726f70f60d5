"""Helpers to build small real warehouses for the engine tests: a region registry, Parquet batches written
through warehouse.storage (manifest + batches/), and small Definitions built in code."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from warehouse.definitions import Definitions
from warehouse.periods import parse_as_of, parse_period
from warehouse.regions import REGION_SCHEMA, RegionRegistry
from warehouse.storage import Warehouse

# code, name, level, parent, n_urban, n_rural
REGIONS = [
    ("CN", "全国", "country", None, 0, 0),
    ("11", "北京市", "province", "CN", 0, 0),
    ("1101", "市辖区", "city", "11", 0, 0),
    ("110105", "朝阳区", "county", "1101", 0, 0),
    ("50", "重庆市", "province", "CN", 0, 0),
    ("5001", "市辖区", "city", "50", 0, 0),
    ("500101", "万州区", "county", "5001", 0, 0),
    ("500102", "涪陵区", "county", "5001", 0, 0),
    ("500110", "綦江区", "county", "5001", 0, 0),
    ("500110004", "万盛街道", "township", "500110", 0, 0),
    ("500110100", "万东镇", "township", "500110", 0, 0),
    ("5002", "县", "city", "50", 0, 0),
    ("500229", "城口县", "county", "5002", 0, 0),
    ("51", "四川省", "province", "CN", 0, 0),
    ("5101", "成都市", "city", "51", 0, 0),
    ("5107", "绵阳市", "city", "51", 0, 0),
    ("5132", "阿坝藏族羌族自治州", "city", "51", 0, 0),
    ("5133", "甘孜藏族自治州", "city", "51", 0, 0),
    ("5134", "凉山彝族自治州", "city", "51", 0, 0),
]


def registry(counts: dict[str, tuple[int, int]] | None = None) -> RegionRegistry:
    """The test registry; `counts` overrides (n_urban, n_rural) per code."""
    counts = counts or {}
    rows = []
    for code, name, level, parent, nu, nr in REGIONS:
        nu, nr = counts.get(code, (nu, nr))
        rows.append({"code": code, "name": name, "level": level, "parent": parent, "urban": None,
                     "n_urban_communities": nu, "n_rural_communities": nr})
    return RegionRegistry(pl.DataFrame(rows, schema=REGION_SCHEMA))


def make_warehouse(path: Path, reg: RegionRegistry | None = None) -> Warehouse:
    reg = reg or registry()
    path.mkdir(parents=True, exist_ok=True)
    reg.save(path / "regions.src.parquet")
    wh = Warehouse(path)
    wh.init(regions=path / "regions.src.parquet")
    return wh


_counter = [0]


def add_batch(wh: Warehouse, rows: list[dict], ingested_at: str | datetime) -> str:
    """rows: region_code, indicator_id, period, value[, numerator, denominator, submitted_at, source_row].
    ingested_at: aware datetime or an as-of text (`2024-03-15` = end of that day CST)."""
    moment = parse_as_of(ingested_at) if isinstance(ingested_at, str) else ingested_at
    out = []
    for i, r in enumerate(rows, start=2):
        out.append({
            "region_code": r["region_code"],
            "indicator_id": r["indicator_id"],
            "period": parse_period(r["period"]).label,
            "period_end": parse_period(r["period"]).end,
            "value": r.get("value"),
            "numerator": r.get("numerator"),
            "denominator": r.get("denominator"),
            "note": None,
            "submitted_by": "test",
            "submitted_at": (r.get("submitted_at") or moment).astimezone(timezone.utc).replace(tzinfo=None),
            "source_file": "test.csv",
            "source_row": r.get("source_row", i),
        })
    frame = pl.DataFrame(out, schema_overrides={"value": pl.Float64, "numerator": pl.Float64,
                                                "denominator": pl.Float64, "source_row": pl.Int32})
    _counter[0] += 1
    return wh.write_batch(frame, {"sha256": f"{_counter[0]:064x}", "ingested_at": moment})


def indicator(id_: str, rule: str = "sum", scale: float = 1.0, **kw) -> dict:
    return {"id": id_, "name": {"zh": kw.pop("zh", id_), "en": kw.pop("en", id_)},
            "unit": {"zh": "个", "en": "units"}, "aggregation": {"rule": rule, "scale": scale}, **kw}


def target(ind: str, value, year: int = 2025, comparator: str = ">=", baseline=None, baseline_year: int = 2020,
           attribute: str = "expected", applies_at=("total",), **kw) -> dict:
    t = {"indicator": ind, "attribute": attribute, "applies_at": list(applies_at), "source": {"table": "专栏1"},
         "baseline": {"value": baseline, "year": baseline_year}}
    t["target"] = None if value is None else {"comparator": comparator, "value": value, "year": year}
    t.update(kw)
    return t


def plan(id_: str, region: str, targets: list[dict], start: int = 2021, baseline: int = 2020, end: int = 2025,
         parent: str | None = None) -> dict:
    return {"id": id_, "name": {"zh": id_}, "issuer": {"zh": "test"}, "region": region, "parent": parent,
            "period": {"start": start, "baseline": baseline, "target": end}, "targets": targets}


def definitions(indicators: list[dict], plans: list[dict], groups: list[dict] | None = None, **defaults) -> Definitions:
    groups = groups if groups is not None else [
        {"id": "wansheng", "name": {"zh": "万盛经开区"}, "parent": "50", "members": ["500110004", "500110100"]},
        {"id": "sanzhou", "name": {"zh": "三州地区"}, "parent": "51", "members": ["5132", "5133", "5134"]},
    ]
    data = {"indicators": indicators, "plans": plans, "region_groups": groups}
    if defaults:
        data["defaults"] = defaults
    return Definitions.model_validate(data)


def utc(text: str) -> datetime:
    return parse_as_of(text)


# ---------------------------------------------------------------- SQL status step over a table of cases
import duckdb  # noqa: E402

from warehouse import sql as sqlgen  # noqa: E402

CASE_SCHEMA = {
    "case": pl.String, "actual": pl.Float64, "baseline": pl.Float64, "comparator": pl.String,
    "target_value": pl.Float64, "target_high": pl.Float64, "fraction": pl.Float64, "elapsed_years": pl.Float64,
    "span_years": pl.Float64, "green": pl.Float64, "amber": pl.Float64, "final": pl.Boolean,
    "single_observation": pl.Boolean, "method": pl.String,
    "final_value": pl.Boolean, "early": pl.Boolean, "baseline_source": pl.String,
    "annual_path": pl.Boolean, "path_expected": pl.Float64,
}
# defaults of the columns added for issue 12 (a case that does not set them: not early, own baseline,
# the value is the target year's when final)
CASE_DEFAULTS = {"final_value": True, "early": False, "baseline_source": "plan", "annual_path": False}


def sql_assess(cases: list[dict]) -> dict[str, dict]:
    """Run the generated SQL status steps (warehouse/sql.py) over the cases; rows keyed by `case`."""
    frame = pl.DataFrame([{k: c.get(k, CASE_DEFAULTS.get(k)) for k in CASE_SCHEMA} for c in cases],
                         schema=CASE_SCHEMA, orient="row")
    con = duckdb.connect()
    try:
        con.execute(sqlgen.MACROS)
        con.register("cases", frame.to_arrow())
        out = con.sql(f"WITH\n{sqlgen.status_steps('cases')}\nSELECT * FROM assessed").pl()
    finally:
        con.close()
    return {r["case"]: r for r in out.iter_rows(named=True)}
