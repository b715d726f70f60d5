"""CLI commands for regions (registered by warehouse.cli): `planwatch regions import|show`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from warehouse import paths
from warehouse.regions import LEVEL_ZH, LEVELS, RegionError, RegionRegistry, display_code

regions_app = typer.Typer(help="地区区划表 / the region registry (NBS division codes).", no_args_is_help=True)

WAREHOUSE_OPTION = typer.Option(None, "--warehouse", help="仓库目录 / warehouse folder (default: $PLANWATCH_WAREHOUSE or the sample)")


def registry_path(warehouse: Path | None) -> Path:
    """<warehouse>/regions.parquet if it exists, else the shipped sample registry."""
    folder = warehouse or paths.default_warehouse_path()
    own = Path(folder) / "regions.parquet"
    return own if own.exists() else paths.sample_regions_path()


def read_region_source(path: Path) -> RegionRegistry:
    """A folder of NBS CSVs, or one CSV/Parquet file with code, name[, parent] columns."""
    if path.is_dir():
        return RegionRegistry.from_nbs_folder(path)
    if not path.exists():
        raise RegionError(f"找不到 / not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pl.read_parquet(path)
        elif suffix in (".csv", ".gz"):
            raw = path.read_bytes()
            if suffix == ".gz":
                import gzip

                raw = gzip.decompress(raw)
            text = None
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            if text is None:
                raise RegionError(f"{path}: 无法识别的编码 / not UTF-8 or GB18030 text")
            table = pl.read_csv(text.encode("utf-8"), infer_schema=False)
        else:
            raise RegionError(f"{path}: 只支持文件夹、.csv 或 .parquet / expected a folder, .csv or .parquet")
    except pl.exceptions.PolarsError as exc:
        raise RegionError(f"无法读取 / cannot read {path}: {exc}") from exc
    return RegionRegistry.from_table(table, source=str(path))


@regions_app.command("import")
def import_regions(
    path: Path = typer.Argument(..., help="NBS 文件夹或 CSV/Parquet (code, name[, parent]) / NBS folder or a CSV/Parquet file"),
    warehouse: Path | None = WAREHOUSE_OPTION,
) -> None:
    """导入区划表 / Import a region list into <warehouse>/regions.parquet (replaced atomically).

    Examples:

      planwatch regions import ../shared/data/regions --warehouse wh/

      planwatch regions import my_regions.csv --warehouse wh/
    """
    try:
        registry = read_region_source(path)
    except RegionError as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(1) from None
    target = Path(warehouse or paths.default_warehouse_path()) / "regions.parquet"
    registry.save(target)
    typer.echo(f"已写入 / written: {target}")
    for level, count in registry.level_counts().items():
        typer.echo(f"  {LEVEL_ZH[level]} {level}: {count:,}")
    unclassified = registry.frame.filter((pl.col("level") == "community") & pl.col("urban").is_null()).height
    if unclassified:
        typer.echo(f"  未能判断城乡的村级单位 / communities neither urban nor rural by name: {unclassified:,}")
    from warehouse import current

    if ((current._read_pointer(target.parent) or {}).get("rollups") or {}).get("file"):
        # the roll-up events hold per-community terms of the previous registry: the engine now computes roll-ups
        # from the rows (same answers, slower at national scale) until the next compaction rebuilds them
        typer.echo("  汇总事件表按旧区划表生成，请运行 planwatch warehouse compact 重建（此前汇总按明细行计算，结果相同） / "
                   "the roll-up events were built with the previous registry: run planwatch warehouse compact to "
                   "rebuild them (until then roll-ups are computed from the rows: same answers, slower)")


@regions_app.command("show")
def show_region(
    code: str = typer.Argument(..., help="地区代码 / region code, e.g. 50, 500000, 500110"),
    warehouse: Path | None = WAREHOUSE_OPTION,
) -> None:
    """显示地区 / Show a region, its ancestors, child counts per level and community counts.

    Examples:

      planwatch regions show 500110

      planwatch regions show 500110000000 --warehouse wh/
    """
    source = registry_path(warehouse)
    try:
        registry = RegionRegistry.load(source)
    except RegionError as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(1) from None
    canon = registry.normalize_code(code)
    if canon is None:
        typer.echo(f"未知地区代码 / unknown region code: {code} ({source})", err=True)
        suggestions = registry.suggest(code, name=None if code.strip().isdigit() else code)
        if suggestions:
            typer.echo("你是否要找 / did you mean:", err=True)
            for region in suggestions:
                typer.echo(f"  {display_code(region.code)} {region.name} ({LEVEL_ZH[region.level]} {region.level})", err=True)
        raise typer.Exit(1)
    region = registry.get(canon)
    typer.echo(f"{display_code(region.code)} {region.name}  [{LEVEL_ZH[region.level]} {region.level}, code {region.code}]")
    ancestors = registry.ancestors(canon)
    if ancestors:
        path_text = " > ".join(f"{a.name} ({display_code(a.code)})" for a in reversed(ancestors))
        typer.echo(f"上级 / ancestors: {path_text}")
    descendants = registry.descendants(canon)
    counts = dict(descendants.group_by("level").len().iter_rows())
    below = [lv for lv in LEVELS[LEVELS.index(region.level) + 1 :] if lv in counts]
    if below:
        typer.echo("下级数量 / regions below, per level:")
        for level in below:
            typer.echo(f"  {LEVEL_ZH[level]} {level}: {counts[level]:,}")
    typer.echo(f"直接下级 / direct children: {registry.children(canon).height:,}")
    typer.echo(
        f"社区 / communities: 城市社区(居委会) urban {region.n_urban_communities:,}, "
        f"农村社区(村委会) rural {region.n_rural_communities:,}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the planwatch app."""
    app.add_typer(regions_app, name="regions")
