"""The engine's SQL on Apache Spark: the same generated query (warehouse/sql.py), transpiled, over the same files.

`planwatch status --engine spark` / `PLANWATCH_ENGINE=spark` / `Engine(..., backend="spark")`. Nothing here knows
the status logic: whatever DuckDB SQL the engine generates is parsed by sqlglot and rewritten for Spark SQL:

1. the `pw_*` macros (sql.MACROS) are expanded inline (Spark has no session macros);
2. the `$name` parameters are inlined as typed literals (values come from validated definitions and the
   engine, rendered by sqlglot: strings quoted and escaped, floats as DOUBLE, dates and timestamps cast);
3. `* EXCLUDE (...)` is expanded from the relations' schemas (sqlglot's qualify), `len(<array>)` becomes
   `size`, and a `code[1:n]` slice (in sql.py only ever on region codes) becomes `substring(code, 1, n)`;
4. sqlglot writes the Spark dialect (`QUALIFY` -> a subquery with `ROW_NUMBER()`, `arg_max` -> `max_by`,
   `list` -> `collect_list`, `unnest` -> `explode`, ...).

The relations the SQL expects (`regions`, `assess`, `scope`, `snapshot_rows`) are temp views of a Spark session
of their own (one per query: threads do not share views); `snapshot_rows` reads the same Parquet files as DuckDB
(warehouse/current.py `sources`: the versions table and the Delta data files it does not cover).

The session: `local[2]` by default, or the master in PLANWATCH_SPARK_MASTER; under spark-submit the running
session is reused (docs/scaling.md). pyspark and a JRE are optional: without them a clear error says what to
install.
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime

import polars as pl

ENV = "PLANWATCH_ENGINE"
BACKENDS = ("duckdb", "spark")
_SESSION = None
_SESSION_LOCK = threading.Lock()


class SparkUnavailable(ValueError):
    """pyspark or Java is missing (message zh + en, with what to install)."""


def backend_name(explicit: str | None = None) -> str:
    name = (explicit or os.environ.get(ENV) or "duckdb").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"未知查询引擎 / unknown engine {name!r} (duckdb, spark)")
    return name


def session():
    """The process's SparkSession (created once: ~4 s in local mode)."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is not None:
            return _SESSION
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise SparkUnavailable(
                "未安装 Spark：请运行 `.venv/bin/pip install pyspark` 并安装 Java（Debian: apt-get install "
                "default-jre-headless），或使用默认的 DuckDB 引擎。 / Spark is not installed: run "
                "`.venv/bin/pip install pyspark` and install Java (Debian: apt-get install default-jre-headless), "
                "or use the default DuckDB engine.") from None
        builder = (SparkSession.builder.appName("planwatch")
                   .master(os.environ.get("PLANWATCH_SPARK_MASTER", "local[2]"))
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.timestampType", "TIMESTAMP_NTZ")  # stored times are naive UTC
                   .config("spark.sql.shuffle.partitions", "4")
                   .config("spark.sql.ansi.enabled", "false"))  # DuckDB semantics: x / 0 -> NULL, not an error
        try:
            _SESSION = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - no Java, or the master cannot be reached
            raise SparkUnavailable(
                f"Spark 无法启动（需要 Java：apt-get install default-jre-headless）/ Spark did not start "
                f"(it needs Java: apt-get install default-jre-headless): {str(exc).splitlines()[0][:300]}") from None
        return _SESSION


# ------------------------------------------------------------------ transpiling
def _macros() -> dict:
    import sqlglot
    from sqlglot import exp

    from warehouse.sql import MACROS

    out = {}
    for stmt in sqlglot.parse(MACROS, read="duckdb"):
        if isinstance(stmt, exp.Create) and isinstance(stmt.this, exp.UserDefinedFunction):
            names = [p.name for p in stmt.this.expressions]
            out[stmt.this.this.name.lower()] = (names, stmt.expression)
    return out


def _expand_macros(tree, macros: dict):
    from sqlglot import exp

    def expand(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() in macros:
            names, body = macros[node.name.lower()]
            args = dict(zip(names, node.expressions))

            def substitute(inner):
                if isinstance(inner, exp.Column) and not inner.table and inner.name in args:
                    return args[inner.name].copy()
                return inner

            return exp.Paren(this=body.copy().transform(substitute))
        return node

    for _ in range(10):  # macros call macros: expand until none is left
        tree = tree.transform(expand)
        if not any(isinstance(n, exp.Anonymous) and n.name.lower() in macros for n in tree.find_all(exp.Anonymous)):
            return tree
    raise ValueError("macro expansion did not terminate")


def literal(value):
    """A Python value as a typed Spark SQL literal (sqlglot expression)."""
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        return exp.Cast(this=exp.Literal.string(repr(value)), to=exp.DataType.build("DOUBLE"))
    if isinstance(value, datetime):
        return exp.Cast(this=exp.Literal.string(value.isoformat(sep=" ")), to=exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("DATE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("ARRAY<STRING>", dialect="spark"))
        return exp.Array(expressions=[literal(v) for v in value])
    raise TypeError(f"cannot inline a parameter of type {type(value).__name__}")


def to_spark_sql(query: str, params: dict, schemas: dict[str, dict[str, str]]) -> str:
    """The engine's DuckDB query as Spark SQL (module docstring)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify

    tree = sqlglot.parse_one(query, read="duckdb")
    tree = _expand_macros(tree, _macros())

    def rewrite(node):
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in params:
                raise KeyError(f"parameter ${node.name} not bound")
            return literal(params[node.name])
        return node

    tree = tree.transform(rewrite)

    def spark_only(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite" and len(node.expressions) == 1:
            # Spark has no isfinite: not NaN and |x| below infinity (NULL stays NULL as in DuckDB)
            x = node.expressions[0]
            inf = exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE"))
            return exp.Paren(this=exp.And(this=exp.Not(this=exp.Anonymous(this="isnan", expressions=[x.copy()])),
                                          expression=exp.LT(this=exp.Abs(this=x.copy()), expression=inf)))
        if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
            # DuckDB's any_value skips NULLs; Spark's takes that as a second argument (no IGNORE NULLS + FILTER)
            return exp.Anonymous(this="any_value", expressions=[node.this.this, exp.Boolean(this=True)])
        if isinstance(node, exp.Length) and isinstance(node.this, (exp.Array, exp.Cast)):
            return exp.ArraySize(this=node.this)
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
            piece = node.expressions[0]
            start = piece.this or exp.Literal.number(1)
            end = piece.expression
            length = exp.Add(this=exp.Sub(this=end.copy(), expression=start.copy()), expression=exp.Literal.number(1))
            return exp.Substring(this=node.this, start=start, length=length)
        return node

    tree = tree.transform(spark_only)
    # QUALIFY -> a subquery before column qualification (else its columns keep the inner table's name)
    from sqlglot.transforms import eliminate_qualify

    tree = tree.transform(eliminate_qualify)
    if any(star.args.get("except_") or star.args.get("except") for star in tree.find_all(exp.Star)):
        tree = qualify(tree, schema=schemas, dialect="duckdb", validate_qualify_columns=False,
                       quote_identifiers=True, identify=True, expand_stars=True)
    tree = _hoist_scalar_subqueries(tree)
    return tree.sql(dialect="spark")


def _hoist_scalar_subqueries(tree):
    """Spark refuses a subquery inside a higher-order function (`filter(lens, n -> ...)` with lens =
    `(SELECT lens FROM scope_lengths)`). A scalar subquery `(SELECT c FROM t)` there (t: a one-row relation such as
    sql.py's scope_lengths) becomes the column of `t` cross-joined into the enclosing SELECT."""
    from sqlglot import exp

    for k, sub in enumerate(list(tree.find_all(exp.Subquery))):
        inner = sub.this
        if not (isinstance(inner, exp.Select) and sub.find_ancestor(exp.ArrayFilter, exp.Transform, exp.Lambda)):
            continue
        sources = inner.args.get("from_") or inner.args.get("from")
        if not sources or inner.args.get("joins") or inner.args.get("where") or len(inner.expressions) != 1:
            continue
        table = sources.this
        if not isinstance(table, exp.Table):
            continue
        alias = f"_pw_one_{k}"
        column = inner.expressions[0]
        name = column.alias_or_name
        outer = sub.find_ancestor(exp.Select)
        sub.replace(exp.column(name, table=alias))
        outer.join(exp.Table(this=exp.to_identifier(table.name), alias=exp.TableAlias(this=exp.to_identifier(alias))),
                   join_type="CROSS", copy=False)
    return tree


# ------------------------------------------------------------------ running
class SparkQuery:
    """The relations of one engine query in a Spark session of their own; `run` gives a polars frame."""

    def __init__(self):
        self.spark = session().newSession()
        self.schemas: dict[str, dict[str, str]] = {}

    def register(self, name: str, frame: pl.DataFrame) -> None:
        df = self.spark.createDataFrame(frame.to_arrow()) if frame.height else self._empty(frame)
        df.createOrReplaceTempView(name)
        self.schemas[name] = {c: _sql_type(t) for c, t in frame.schema.items()}

    def _empty(self, frame: pl.DataFrame):
        cols = ", ".join(f"CAST(NULL AS {_sql_type(t)}) AS `{c}`" for c, t in frame.schema.items())
        return self.spark.sql(f"SELECT {cols} WHERE FALSE")

    def register_sources(self, src, columns: tuple[str, ...]) -> None:
        """`snapshot_rows` over the same files as current.view_sql: the versions table and uncovered data files."""
        from pyspark.sql import functions as F

        cols = [c.strip('"') for c in columns]
        parts = []
        if src.versions is not None:
            parts.append(self.spark.read.parquet(src.versions).select(*cols, "superseded_at"))
        if src.delta:
            parts.append(self.spark.read.parquet(*src.delta).select(
                *cols, F.lit(None).cast("timestamp_ntz").alias("superseded_at")))
        from warehouse.storage import BATCH_SCHEMA

        schema = {c: _sql_type(BATCH_SCHEMA[c]) for c in cols} | {"superseded_at": "TIMESTAMP"}
        if not parts:
            body = ", ".join(f"CAST(NULL AS {t}) AS `{c}`" for c, t in schema.items())
            parts.append(self.spark.sql(f"SELECT {body} WHERE FALSE"))
        df = parts[0]
        for other in parts[1:]:
            df = df.unionByName(other)
        df.createOrReplaceTempView("snapshot_rows")
        self.schemas["snapshot_rows"] = schema

    def run(self, query: str, params: dict) -> pl.DataFrame:
        text = to_spark_sql(query, params, self.schemas)
        table = self.spark.sql(text).toArrow()
        return pl.from_arrow(table)

    def close(self) -> None:
        for name in list(self.schemas):
            self.spark.catalog.dropTempView(name)


def _sql_type(dtype: pl.DataType) -> str:
    base = dtype.base_type()
    return {pl.String: "STRING", pl.Date: "DATE", pl.Float64: "DOUBLE", pl.Datetime: "TIMESTAMP", pl.Int32: "INT",
            pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN", pl.Float32: "FLOAT"}.get(base, "STRING")
