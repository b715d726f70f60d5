"""`planwatch access check`: validate an access policy file (docs/access.md) like `planwatch defs validate`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

access_app = typer.Typer(
    name="access",
    help=(
        "Check the access policy (access.yaml) / 检查访问策略文件.\n\n"
        "Examples:\n\n"
        "  planwatch access check access.yaml\n\n"
        "  PLANWATCH_ACCESS=access.yaml planwatch access check"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")


@access_app.command()
def check(
    path: Annotated[Optional[Path], typer.Argument(help="The policy file (default: $PLANWATCH_ACCESS).")] = None,
    warehouse: Annotated[Optional[Path], typer.Option(help="Warehouse whose region registry the codes must be "
                                                      "in (default: $PLANWATCH_WAREHOUSE or the sample).")] = None,
) -> None:
    """Check every grant: identity, role, scopes (codes in the registry, groups in the definitions).

    Prints each problem as file:line:column and exits 1 when there is an error.

    Example: planwatch access check access.yaml
    """
    from warehouse.access_loader import load_policy
    from warehouse.defs_loader import load_definitions
    from warehouse.paths import default_defs_path, default_warehouse_path
    from warehouse.regions import RegionRegistry

    if path is None:
        raw = os.environ.get("PLANWATCH_ACCESS", "").strip()
        if not raw:
            typer.echo("错误 / error: 请给出策略文件或设置 PLANWATCH_ACCESS / give the policy file or set PLANWATCH_ACCESS",
                       err=True)
            raise typer.Exit(2)
        path = Path(raw)
    defs = load_definitions(default_defs_path()).definitions
    regions = (warehouse or default_warehouse_path()) / "regions.parquet"
    registry = RegionRegistry.load(regions) if regions.is_file() else None
    result = load_policy(path, definitions=defs, registry=registry)
    for problem in result.problems:
        typer.echo(str(problem), err=problem.severity == "error")
    if not result.ok:
        typer.echo(f"访问策略有错误 / the access policy has errors: {len(result.errors)}", err=True)
        raise typer.Exit(1)
    roles: dict[str, int] = {}
    for grant in result.policy.grants:
        roles[grant.role] = roles.get(grant.role, 0) + 1
    summary = ", ".join(f"{n} {role}" for role, n in sorted(roles.items()))
    typer.echo(f"访问策略有效 / access policy OK: {len(result.policy.grants)} grants ({summary})")
