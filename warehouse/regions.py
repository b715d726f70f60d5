"""The region registry: NBS division codes, levels, parents, names and community counts.

Codes are the canonical NBS prefixes (province 2 digits, city 4, county 6, township 9, community 12) and
`CN` for the whole country; a code's parent is its prefix. Submissions may pad codes with zeros to 6 or
12 digits (`500000`, `500110000000`); `canonical_code` and `RegionRegistry.normalize_code` undo that.

The registry is a polars frame with the columns of REGION_SCHEMA (see docs/architecture.md); lookups go
through a dict built once, so a national registry (about 660,000 rows) loads in well under two seconds.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from warehouse.definitions import Definitions

COUNTRY = "CN"
LEVEL_BY_LENGTH = {2: "province", 4: "city", 6: "county", 9: "township", 12: "community"}
LENGTH_BY_LEVEL = {level: length for length, level in LEVEL_BY_LENGTH.items()}
LEVELS = ["country", "province", "city", "county", "township", "community"]
LEVEL_ZH = {
    "country": "全国",
    "province": "省级",
    "city": "地级",
    "county": "县级",
    "township": "乡级",
    "community": "村级",
    "group": "区域组",
}

REGION_SCHEMA = {
    "code": pl.String,
    "name": pl.String,
    "level": pl.String,
    "parent": pl.String,
    "urban": pl.Boolean,
    "n_urban_communities": pl.Int32,
    "n_rural_communities": pl.Int32,
}

# Village-level names: the NBS writes 居委会 / 居民委员会 / ...社区 for urban communities and 村委会 /
# 村民委员会 / 嘎查 (Inner Mongolia) for rural ones. Names matching neither (e.g. 生活区, 管理区) stay NULL
# and are counted in neither column.
RURAL_NAME = r"(村委会|村民委员会|村委员会|嘎查委员会|嘎查村委员会|嘎查|牧委会|牧民委员会|查委会|民委会|村)$"
URBAN_NAME = r"(居委会|居民委员会|社区|社区委员会|社区居委会|家委会)$"

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_COUNTRY_ALIASES = {"CN", "全国", "中国", "中华人民共和国", "000000", "000000000000", "0"}
# Name endings dropped when a submitted name is compared with the NBS name (重庆 ~ 重庆市).
_NAME_SUFFIXES = (
    "社区居委会", "居委会", "村委会", "自治州", "自治县", "自治旗", "街道办事处", "街道", "地区", "特别行政区",
    "自治区", "省", "市", "区", "县", "旗", "盟", "镇", "乡", "村", "社区",
)


class RegionError(ValueError):
    """A region list that cannot be used; the message names the file, row and value."""


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent: str | None
    urban: bool | None
    n_urban_communities: int
    n_rural_communities: int

    @property
    def display_code(self) -> str:
        return display_code(self.code)


def display_code(code: str) -> str:
    """6-digit zero-padded form for levels up to county (`500000`), the code itself below and for CN."""
    if code.isdigit() and len(code) < 6:
        return code.ljust(6, "0")
    return code


def canonical_code(raw: object) -> str | None:
    """Syntax-only normalisation: `500000` -> `50`, `500110000000` -> `500110`, `全国` -> `CN`.

    Accepts the canonical 2/4/6/9/12-digit forms, codes zero-padded to 6, 9 or 12 digits, full-width
    digits and Excel's `500000.0`. Returns None when the text cannot be a division code. Whether the code
    exists is the registry's question (`RegionRegistry.normalize_code`)."""
    if raw is None:
        return None
    text = str(raw).strip().translate(_FULL_WIDTH_DIGITS).replace(" ", "")
    if text.upper() in _COUNTRY_ALIASES or text in _COUNTRY_ALIASES:
        return COUNTRY
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    if not text.isdigit() or len(text) not in LEVEL_BY_LENGTH:
        return None
    # Strip all-zero trailing level groups: 12 -> 9 -> 6 -> 4 -> 2 digits.
    for length, cut in ((12, 9), (9, 6), (6, 4), (4, 2)):
        if len(text) == length and text[cut:] == "0" * (length - cut):
            text = text[:cut]
    if set(text) == {"0"}:
        return None
    return text


def parent_of(code: str) -> str | None:
    """The parent by prefix: CN for provinces, None for CN."""
    if code == COUNTRY:
        return None
    cuts = {2: COUNTRY, 4: code[:2], 6: code[:4], 9: code[:6], 12: code[:9]}
    return cuts.get(len(code))


# NBS placeholder "cities" (Chongqing's 5001 市辖区 and 5002 县, Beijing's 1101 市辖区): no administration
# answers for them. Sibling sets see through them (a Chongqing district ranks among all 38 districts and
# counties) and lists of accountable regions leave them out.
PLACEHOLDER_NAMES = frozenset({"市辖区", "县"})


def is_placeholder() -> pl.Expr:
    """True for the rows of a region frame that are NBS placeholder cities."""
    return (pl.col("level") == "city") & pl.col("name").is_in(list(PLACEHOLDER_NAMES))


def sibling_codes(frame: pl.DataFrame, parent: str) -> list[str]:
    """The children of `parent` in a region frame, a placeholder's children in place of the placeholder."""
    children = frame.filter(pl.col("parent") == parent).sort("code")
    placeholders = children.filter(is_placeholder())["code"].to_list()
    if not placeholders:
        return children["code"].to_list()
    below = frame.filter(pl.col("parent").is_in(placeholders))["code"].to_list()
    return sorted([c for c in children["code"].to_list() if c not in placeholders] + below)


def sibling_parent(frame: pl.DataFrame, code: str) -> str | None:
    """The region whose `sibling_codes` hold `code`: its parent, or the parent's parent when the parent is a
    placeholder."""
    row = frame.filter(pl.col("code") == code)
    parent = row["parent"][0] if row.height else parent_of(code)
    holder = frame.filter((pl.col("code") == parent) & is_placeholder()) if parent else frame.clear()
    return holder["parent"][0] if holder.height else parent


def _name_core(name: str) -> str:
    text = str(name).strip().translate(_FULL_WIDTH_DIGITS).replace(" ", "").replace("\u3000", "")
    for suffix in _NAME_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def names_match(given: str, official: str) -> bool:
    """True when a submitted name plausibly names the official one (重庆 ~ 重庆市, 渝中 ~ 渝中区)."""
    a = str(given).strip().replace(" ", "").replace("\u3000", "")
    b = str(official).strip()
    if not a or a == b:
        return True
    return _name_core(a) == _name_core(b)


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _classify_urban(names: pl.Expr) -> pl.Expr:
    return (
        pl.when(names.str.contains(URBAN_NAME))
        .then(True)
        .when(names.str.contains(RURAL_NAME))
        .then(False)
        .otherwise(None)
    )


class RegionRegistry:
    """Regions keyed by canonical code. Build with `load`, `from_nbs_folder` or `from_table`."""

    def __init__(self, frame: pl.DataFrame):
        missing = [c for c in REGION_SCHEMA if c not in frame.columns]
        if missing:
            raise RegionError(f"区划表缺少列 / region table lacks columns: {', '.join(missing)}")
        self.frame = frame.select([pl.col(c).cast(t) for c, t in REGION_SCHEMA.items()])
        codes = self.frame["code"].to_list()
        self._index = dict(zip(codes, range(len(codes))))
        self._names = self.frame["name"].to_list()
        self._by_length: dict[int, list[str]] = {}
        for code in sorted(codes):
            self._by_length.setdefault(len(code), []).append(code)

    def __len__(self) -> int:
        return self.frame.height

    def __contains__(self, code: object) -> bool:
        return code in self._index

    # ---- building ----
    @classmethod
    def load(cls, path: str | Path) -> RegionRegistry:
        path = Path(path)
        try:
            frame = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise RegionError(f"无法读取区划文件 / cannot read region file {path}: {exc}") from exc
        return cls(frame)

    def save(self, path: str | Path) -> None:
        """Write the registry as zstd Parquet, atomically (temporary file in the same folder, then os.replace)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".regions-", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            self.frame.write_parquet(tmp, compression="zstd")
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @classmethod
    def from_table(cls, table: pl.DataFrame, source: str = "table") -> RegionRegistry:
        """Build from a frame with `code`, `name` and optionally `parent` (any code spelling accepted).

        Levels come from code lengths, missing parents from prefixes, urban/rural from community names,
        and community counts from the community rows present. `CN` is added when absent."""
        columns = {c.strip().lower(): c for c in table.columns}
        for needed in ("code", "name"):
            if needed not in columns:
                raise RegionError(
                    f"{source}: 缺少列 {needed} / missing column {needed!r} (found: {', '.join(table.columns)})"
                )
        raw_codes = table[columns["code"]].cast(pl.String).to_list()
        names = table[columns["name"]].cast(pl.String).to_list()
        raw_parents = (
            table[columns["parent"]].cast(pl.String).to_list() if "parent" in columns else [None] * len(raw_codes)
        )
        codes, parents = [], []
        seen: dict[str, int] = {}
        for i, (raw, name, raw_parent) in enumerate(zip(raw_codes, names, raw_parents), start=2):
            code = canonical_code(raw)
            if code is None:
                raise RegionError(f"{source} 第 {i} 行 / row {i}: 不是区划代码 / not a division code: {raw!r}")
            if not name or not str(name).strip():
                raise RegionError(f"{source} 第 {i} 行 / row {i}: 名称为空 / empty name for code {raw!r}")
            if code in seen:
                raise RegionError(
                    f"{source} 第 {i} 行 / row {i}: 代码 {code} 与第 {seen[code]} 行重复 / duplicate of row {seen[code]}"
                )
            seen[code] = i
            parent = canonical_code(raw_parent) if raw_parent not in (None, "") else parent_of(code)
            codes.append(code)
            parents.append(parent)
        frame = pl.DataFrame(
            {"code": codes, "name": [str(n).strip() for n in names], "parent": parents},
            schema={"code": pl.String, "name": pl.String, "parent": pl.String},
        )
        if COUNTRY not in seen:
            frame = pl.concat([pl.DataFrame({"code": [COUNTRY], "name": ["全国"], "parent": [None]}, schema=frame.schema), frame])
        return cls(_with_levels_and_counts(frame))

    @classmethod
    def from_nbs_folder(cls, folder: str | Path) -> RegionRegistry:
        """Read the five NBS CSVs (provinces, cities, areas, streets, villages[.csv.gz]) of ../shared/data/regions."""
        folder = Path(folder)
        parts = []
        for stem in ("provinces", "cities", "areas", "streets", "villages"):
            candidates = [folder / f"{stem}.csv", folder / f"{stem}.csv.gz"]
            path = next((p for p in candidates if p.exists()), None)
            if path is None:
                raise RegionError(f"找不到 / not found: {folder / (stem + '.csv')} (or .csv.gz)")
            try:
                part = pl.read_csv(path, columns=["code", "name"], schema_overrides={"code": pl.String, "name": pl.String})
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise RegionError(f"无法读取 / cannot read {path}: {exc}") from exc
            parts.append(part)
        frame = pl.concat(parts).with_columns(pl.col("code").str.strip_chars(), pl.col("name").str.strip_chars())
        bad = frame.filter(~pl.col("code").str.len_chars().is_in(list(LEVEL_BY_LENGTH)) | ~pl.col("code").str.contains(r"^\d+$"))
        if bad.height:
            raise RegionError(f"{folder}: 不是区划代码 / not division codes: {bad['code'].head(5).to_list()}")
        frame = frame.with_columns(parent=_parent_expr(pl.col("code")))
        frame = pl.concat(
            [pl.DataFrame({"code": [COUNTRY], "name": ["全国"], "parent": [None]}, schema=frame.schema), frame]
        )
        return cls(_with_levels_and_counts(frame))

    # ---- lookups ----
    def get(self, code: str | None) -> Region | None:
        if code is None:
            return None
        i = self._index.get(code)
        if i is None:
            return None
        row = self.frame.row(i, named=True)
        return Region(
            code=row["code"],
            name=row["name"],
            level=row["level"],
            parent=row["parent"],
            urban=row["urban"],
            n_urban_communities=row["n_urban_communities"] or 0,
            n_rural_communities=row["n_rural_communities"] or 0,
        )

    def name(self, code: str) -> str | None:
        i = self._index.get(code)
        return None if i is None else self._names[i]

    def normalize_code(self, raw: object) -> str | None:
        """The canonical code for `raw` if the region exists here, else None."""
        code = canonical_code(raw)
        return code if code in self._index else None

    def ancestors(self, code: str) -> list[Region]:
        """Nearest first, up to CN (regions missing from a partial registry are skipped)."""
        out = []
        parent = self.get(code).parent if code in self._index else parent_of(code)
        while parent is not None:
            region = self.get(parent)
            if region is not None:
                out.append(region)
            parent = region.parent if region is not None else parent_of(parent)
        return out

    def children(self, code: str) -> pl.DataFrame:
        return self.frame.filter(pl.col("parent") == code).sort("code")

    def siblings_under(self, parent: str) -> list[str]:
        """`parent`'s children, seeing through NBS placeholders (see `sibling_codes`)."""
        return sibling_codes(self.frame, parent)

    def accountable_descendants(self, code: str) -> list[str]:
        """Every region below `code` except NBS placeholders (alerts and overdue lists name real ones)."""
        return self.descendants(code).filter(~is_placeholder())["code"].to_list()

    def descendants(self, code: str, level: str | None = None) -> pl.DataFrame:
        if code == COUNTRY:
            expr = pl.col("code") != COUNTRY
        else:
            expr = pl.col("code").str.starts_with(code) & (pl.col("code") != code)
        if level is not None:
            expr = expr & (pl.col("level") == level)
        return self.frame.filter(expr).sort("code")

    def suggest(self, raw: object, name: str | None = None, k: int = 3) -> list[Region]:
        """Nearest existing regions: by code (longest shared prefix, then edit distance) and, when a name is
        given, by name (exact, then similar). Name matches come first: a right name beats a near code."""
        found: list[str] = []
        if name and str(name).strip():
            found.extend(self._suggest_by_name(str(name).strip(), canonical_code(raw), k))
        for code in self._suggest_by_code(raw, k):
            if code not in found:
                found.append(code)
        return [self.get(c) for c in found[:k]]

    def _suggest_by_code(self, raw: object, k: int) -> list[str]:
        text = str(raw or "").strip().translate(_FULL_WIDTH_DIGITS)
        text = re.sub(r"\D", "", text)
        if not text:
            return []
        canon = canonical_code(text)
        target = canon if canon and canon != COUNTRY else text
        lengths = [len(target)] if len(target) in self._by_length else [
            min(self._by_length, key=lambda n: abs(n - len(target)))
        ] if self._by_length else []
        pool: list[str] = []
        for length in lengths:
            codes = self._by_length[length]
            for p in range(min(len(target), length) - 1, -1, -1):
                prefix = target[:p]
                lo = bisect.bisect_left(codes, prefix)
                hi = bisect.bisect_left(codes, prefix + "\x7f")
                if hi - lo >= k or p == 0:
                    pool = codes[lo:hi][:5000]
                    break
        pool = [c for c in pool if c.isdigit()]  # "CN" shares the 2-character length of province codes
        return sorted(pool, key=lambda c: (_levenshtein(target, c), abs(int(c) - int(target[: len(c)] or 0))))[:k]

    def _suggest_by_name(self, name: str, code_hint: str | None, k: int) -> list[str]:
        core = _name_core(name)
        spellings = {name, core} | {core + suffix for suffix in _NAME_SUFFIXES}
        exact = self.frame.filter(pl.col("name").is_in(list(spellings)))["code"].to_list()
        province = code_hint[:2] if code_hint and code_hint != COUNTRY else None
        # Among several regions with the same name prefer those in the province the code points to.
        exact.sort(key=lambda c: (province is not None and not c.startswith(province), len(c), c))
        if len(exact) >= k or not core:
            return exact[:k]
        similar = self.frame.filter(pl.col("name").str.contains(core, literal=True))
        if province and similar.height > 200:
            similar = similar.filter(pl.col("code").str.starts_with(province))
        ranked = sorted(
            zip(similar["code"].to_list()[:2000], similar["name"].to_list()[:2000]),
            key=lambda cn: -difflib.SequenceMatcher(None, name, cn[1]).ratio(),
        )
        return list(dict.fromkeys(exact + [c for c, _ in ranked]))[:k]

    def search(self, text: str, limit: int = 50) -> pl.DataFrame:
        """Regions for a searchable picker: exact code, code prefix, then names starting with / containing text."""
        query = str(text or "").strip()
        if not query:
            return self.frame.head(0).with_columns(rank=pl.lit(0))
        canon = canonical_code(query)
        digits = query.translate(_FULL_WIDTH_DIGITS)
        rank = (
            pl.when(pl.col("code") == (canon or ""))
            .then(0)
            .when(pl.col("name") == query)
            .then(1)
            .when(pl.col("code").str.starts_with(digits) & pl.lit(digits.isdigit()))
            .then(2)
            .when(pl.col("name").str.starts_with(query))
            .then(3)
            .when(pl.col("name").str.contains(query, literal=True))
            .then(4)
            .otherwise(None)
        )
        return (
            self.frame.with_columns(rank=rank)
            .filter(pl.col("rank").is_not_null())
            .sort(["rank", pl.col("code").str.len_chars(), "code"])
            .head(limit)
        )

    def resolve_members(self, ref: str, definitions: Definitions | None = None) -> list[str]:
        """`group:<id>` -> the group's member codes (canonical); a plain code -> [that code].

        Raises KeyError for an unknown group or a code that is not in the registry."""
        ref = str(ref).strip()
        if ref.startswith("group:"):
            if definitions is None:
                raise KeyError(f"{ref}: 需要定义文件 / definitions needed to resolve a group")
            group = definitions.group(ref.split(":", 1)[1])
            members = []
            for member in group.members:
                code = canonical_code(member)
                if code is None or code not in self._index:
                    raise KeyError(f"{ref}: 成员 {member!r} 不在区划表中 / member not in the region registry")
                members.append(code)
            return list(dict.fromkeys(members))
        code = self.normalize_code(ref)
        if code is None:
            raise KeyError(f"{ref}: 未知地区代码 / unknown region code")
        return [code]

    def level_counts(self) -> dict[str, int]:
        counts = dict(self.frame.group_by("level").len().iter_rows())
        return {level: counts.get(level, 0) for level in LEVELS}


def _parent_expr(code: pl.Expr) -> pl.Expr:
    n = code.str.len_chars()
    return (
        pl.when(n == 2)
        .then(pl.lit(COUNTRY))
        .when(n == 4)
        .then(code.str.slice(0, 2))
        .when(n == 6)
        .then(code.str.slice(0, 4))
        .when(n == 9)
        .then(code.str.slice(0, 6))
        .when(n == 12)
        .then(code.str.slice(0, 9))
        .otherwise(None)
    )


def _with_levels_and_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Add level, urban and the community counts to a (code, name, parent) frame."""
    level = pl.col("code").str.len_chars().replace_strict(
        {n: lv for n, lv in LEVEL_BY_LENGTH.items()}, default=None, return_dtype=pl.String
    )
    frame = frame.with_columns(
        level=pl.when(pl.col("code") == COUNTRY).then(pl.lit("country")).otherwise(level)
    ).with_columns(urban=pl.when(pl.col("level") == "community").then(_classify_urban(pl.col("name"))))
    communities = frame.filter(pl.col("level") == "community").select(
        "code", u=pl.col("urban").fill_null(False).cast(pl.Int32), r=(pl.col("urban") == False).fill_null(False).cast(pl.Int32)  # noqa: E712
    )
    counts = [communities.select("code", "u", "r")]
    for length in (2, 4, 6, 9):
        counts.append(
            communities.group_by(code=pl.col("code").str.slice(0, length)).agg(pl.col("u").sum(), pl.col("r").sum())
        )
    counts.append(communities.select(code=pl.lit(COUNTRY), u=pl.col("u").sum(), r=pl.col("r").sum()))
    totals = pl.concat([c.select("code", pl.col("u").cast(pl.Int32), pl.col("r").cast(pl.Int32)) for c in counts])
    frame = frame.join(totals, on="code", how="left").with_columns(
        n_urban_communities=pl.col("u").fill_null(0).cast(pl.Int32),
        n_rural_communities=pl.col("r").fill_null(0).cast(pl.Int32),
    )
    order = pl.col("level").replace_strict({lv: i for i, lv in enumerate(LEVELS)}, return_dtype=pl.Int32)
    return frame.sort([order, "code"]).select(list(REGION_SCHEMA))


# Provinces whose every city is an NBS placeholder (市辖区 / 县): their districts and counties report instead,
# so the sample registry keeps their county level.
MUNICIPALITIES = ("11", "12", "31", "50")


def build_sample_regions(nbs_folder: str | Path) -> RegionRegistry:
    """The compact registry shipped in sample_data/regions.parquet: CN, every province and every city;
    county level for the four municipalities (11, 12, 31, 50: their cities are placeholders) and for Sichuan
    (51) and Yunnan's Yuxi (5304); township level for Chongqing, Sichuan and Yuxi. Community counts are
    computed from the full NBS list; community rows are not kept."""
    full = RegionRegistry.from_nbs_folder(nbs_folder)
    code, level = pl.col("code"), pl.col("level")
    deep = code.str.starts_with("50") | code.str.starts_with("51") | code.str.starts_with("5304")
    keep = (
        level.is_in(["country", "province", "city"])
        | ((pl.any_horizontal([code.str.starts_with(p) for p in MUNICIPALITIES]) | deep) & (level == "county"))
        | (deep & (level == "township"))
    )
    return RegionRegistry(full.frame.filter(keep))
