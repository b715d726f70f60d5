"""The region registry: sample file, code normalisation, lookups, suggestions, NBS import and the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from warehouse.cli_regions import regions_app
from warehouse.definitions import Definitions, RegionGroup, Text
from warehouse.regions import RegionRegistry, build_sample_regions, canonical_code, names_match, sibling_parent

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "regions.parquet"
NBS = REPO.parent / "shared" / "data" / "regions"
needs_nbs = pytest.mark.skipif(not (NBS / "villages.csv.gz").exists(), reason="NBS division files not available")


@pytest.fixture(scope="module")
def sample() -> RegionRegistry:
    return RegionRegistry.load(SAMPLE)


def test_sample_contents(sample):
    counts = sample.level_counts()
    assert counts["country"] == 1 and counts["province"] == 31 and counts["community"] == 0
    assert sample.get("50").name == "重庆市" and sample.get("5001").name == "市辖区"
    assert sample.get("110105").level == "county" and sample.descendants("11", "township").height == 0
    assert sample.descendants("5304", "county").height == 9  # Yuxi's 9 counties
    assert sample.descendants("51", "city").height == 21
    assert sample.get("500110001").name == "古南街道"
    # community counts from the full NBS list; the parent's count is the sum over its children
    chongqing = sample.get("50")
    assert (chongqing.n_urban_communities, chongqing.n_rural_communities) == (3323, 7946)
    kids = sample.children("50")
    assert kids["n_urban_communities"].sum() == 3323 and kids["n_rural_communities"].sum() == 7946
    assert sample.frame.schema["n_urban_communities"] == pl.Int32


@pytest.mark.parametrize(
    "raw, expected",
    [("50", "50"), ("500000", "50"), ("500100", "5001"), ("500110", "500110"), ("500110000000", "500110"),
     ("500110001000", "500110001"), ("500110001001", "500110001001"), ("500000.0", "50"), ("５０００００", "50"),
     ("全国", "CN"), ("cn", "CN"), (" 510104 ", "510104"), ("5001101", None), ("abc", None), ("", None), (None, None),
     ("000000", "CN")],
)
def test_canonical_code(raw, expected):
    assert canonical_code(raw) == expected


def test_normalize_and_lookups(sample):
    assert sample.normalize_code("500000") == "50"
    assert sample.normalize_code("530400000000") == "5304"
    assert sample.normalize_code("520000") == "52"  # every province is present
    assert sample.normalize_code("520100") == "5201"  # every city is present (the sample covers the country)
    assert sample.normalize_code("520102") is None  # Guizhou's counties are not in the sample
    assert sample.normalize_code("310101") == "310101"  # the municipalities' districts are (their cities are placeholders)
    assert [r.code for r in sample.ancestors("500110001")] == ["500110", "5001", "50", "CN"]
    assert sample.ancestors("CN") == []
    assert sample.children("5304")["code"].to_list()[0] == "530402"
    assert sample.get("nope") is None


def test_suggest_and_search(sample):
    assert [r.code for r in sample.suggest("500199")][:1] in (["500109"], ["500119"])
    assert sample.suggest("999999", name="渝中区")[0].code == "500103"
    assert sample.suggest("510100", name="成都")[0].code == "5101"
    hits = sample.search("渝中")
    assert hits["code"].to_list()[0] == "500103"
    assert sample.search("500103")["code"].to_list()[0] == "500103"
    assert sample.search("")["code"].to_list() == []


def test_suggest_odd_lengths_never_offer_the_country_code(sample):
    # a 3-digit code is nearest to the 2-digit level, which also holds "CN"
    suggestions = [r.code for r in sample.suggest("999")]
    assert suggestions and "CN" not in suggestions and all(c.isdigit() and len(c) == 2 for c in suggestions)


def test_names_match():
    assert names_match("重庆", "重庆市") and names_match("渝中区", "渝中区") and names_match("渝中", "渝中区")
    assert not names_match("江北区", "渝中区")


def test_resolve_members(sample):
    defs = Definitions(indicators=[], plans=[], region_groups=[
        RegionGroup(id="sanzhou", name=Text(zh="三州地区"), members=["513200", "5133", "513400000000"])])
    assert sample.resolve_members("group:sanzhou", defs) == ["5132", "5133", "5134"]
    assert sample.resolve_members("500000") == ["50"]
    with pytest.raises(KeyError):
        sample.resolve_members("group:nope", defs)
    with pytest.raises(KeyError):
        sample.resolve_members("999999")


def test_from_table_levels_parents_urban_and_counts(tmp_path):
    table = pl.DataFrame({
        "code": ["500000000000", "500100000000", "500103000000", "500103001000",
                 "500103001001", "500103001002", "500103001003"],
        "name": ["重庆市", "市辖区", "渝中区", "七星岗街道", "领事巷社区居委会", "某某村村民委员会", "某生活区"],
    })
    reg = RegionRegistry.from_table(table)
    assert reg.frame.select("code", "level", "parent").rows()[:3] == [("CN", "country", None), ("50", "province", "CN"),
                                                                       ("5001", "city", "50")]
    assert [reg.get(c).urban for c in ("500103001001", "500103001002", "500103001003")] == [True, False, None]
    district = reg.get("500103")
    assert (district.n_urban_communities, district.n_rural_communities) == (1, 1)
    assert reg.get("500103001001").n_urban_communities == 1
    path = tmp_path / "r.parquet"
    reg.save(path)
    assert RegionRegistry.load(path).frame.equals(reg.frame)
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]  # no temporary file left


def test_from_table_rejects_bad_codes():
    with pytest.raises(ValueError, match="第 3 行 / row 3: 不是区划代码 / not a division code: '5x'"):
        RegionRegistry.from_table(pl.DataFrame({"code": ["50", "5x"], "name": ["重庆市", "坏"]}))
    with pytest.raises(ValueError, match="duplicate of row 2"):
        RegionRegistry.from_table(pl.DataFrame({"code": ["50", "500000"], "name": ["重庆市", "重庆"]}))


@needs_nbs
def test_national_registry_counts_and_load_speed(tmp_path):
    full = RegionRegistry.from_nbs_folder(NBS)
    assert full.level_counts() == {"country": 1, "province": 31, "city": 342, "county": 2978, "township": 41352,
                                   "community": 620573}
    country = full.get("CN")
    unclassified = full.frame.filter((pl.col("level") == "community") & pl.col("urban").is_null()).height
    assert country.n_urban_communities + country.n_rural_communities + unclassified == 620573
    assert full.get("110101001001").urban is True
    path = tmp_path / "regions.parquet"
    full.save(path)
    start = time.perf_counter()
    loaded = RegionRegistry.load(path)
    assert time.perf_counter() - start < 2.0
    assert loaded.normalize_code("110101001001000") is None
    assert loaded.get("500110001").n_urban_communities == full.get("500110001").n_urban_communities
    # the committed sample is exactly what build_sample_regions makes
    assert build_sample_regions(NBS).frame.equals(RegionRegistry.load(SAMPLE).frame)


def test_cli_import_and_show(tmp_path):
    source = tmp_path / "mine.csv"
    source.write_bytes("code,name\n500000,重庆市\n500103,渝中区\n500103001,七星岗街道\n".encode("gbk"))
    runner = CliRunner()
    result = runner.invoke(regions_app, ["import", str(source), "--warehouse", str(tmp_path / "wh")])
    assert result.exit_code == 0, result.output
    assert "省级 province: 1" in result.output and "乡级 township: 1" in result.output
    assert RegionRegistry.load(tmp_path / "wh" / "regions.parquet").get("500103").parent == "5001"
    shown = runner.invoke(regions_app, ["show", "500103001", "--warehouse", str(tmp_path / "wh")])
    assert shown.exit_code == 0
    assert "七星岗街道" in shown.output and "全国 (CN) > 重庆市 (500000) > 渝中区 (500103)" in shown.output
    unknown = runner.invoke(regions_app, ["show", "500199"])  # the sample registry (no warehouse)
    assert unknown.exit_code == 1
    assert "未知地区代码 / unknown region code: 500199" in unknown.output and "500109 北碚区" in unknown.output
    bad = runner.invoke(regions_app, ["import", str(tmp_path / "missing.csv"), "--warehouse", str(tmp_path / "wh")])
    assert bad.exit_code == 1 and "找不到 / not found" in bad.output


def test_placeholders_are_seen_through_for_siblings_and_left_out_of_accountable_regions(sample):
    # Chongqing's districts sit under 5001 市辖区 and its counties under 5002 县: one sibling set of 38
    siblings = sample.siblings_under("50")
    assert len(siblings) == 38 and "5001" not in siblings and {"500101", "500229"} <= set(siblings)
    assert sibling_parent(sample.frame, "500110") == "50"  # a district's siblings are all of Chongqing's
    assert sibling_parent(sample.frame, "5101") == "51"  # a real city keeps its province
    below = sample.accountable_descendants("50")
    assert "5001" not in below and "5002" not in below and "500110" in below and "500110004" in below
