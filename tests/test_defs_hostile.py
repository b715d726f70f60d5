"""The definitions loader against hostile files: alias bombs, huge files, deep nesting, and generated junk
(hypothesis): never a traceback, always Problems with a message, always within time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import defs_limits
from warehouse.defs_loader import load_definitions, load_definitions_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "indicator_defs.yaml").read_text(encoding="utf-8")


def _bomb(levels: int, width: int = 9) -> str:
    """The 'billion laughs' alias bomb: `levels` lists, each holding `width` aliases of the previous one."""
    lines = ["a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9, 10])
def test_alias_bomb_is_refused_quickly(levels):
    text = _bomb(levels)
    assert len(text) < 500  # 9 levels: 366 bytes took 640 MB before; 10: 416 bytes, > 5.8 GB
    started = time.perf_counter()
    result = load_definitions_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed
    assert result.definitions is None
    assert [p.message for p in result.errors] == [
        f"the file expands to more than {defs_limits.MAX_NODES:,} YAML nodes (anchors and aliases `&x` / `*x` "
        "repeated inside each other multiply); write the values out or use fewer aliases"]


def test_recursive_alias_and_deep_nesting_are_refused():
    for text in ("a: &a [*a]\n", "x: " + "[" * 500 + "]" * 500 + "\n"):
        result = load_definitions_text(text)
        assert result.definitions is None
        assert "nested more than" in result.errors[0].message or "nests `[` / `{` more than" in result.errors[0].message


@pytest.mark.parametrize("text,at", [
    ("indicators:\n  - id: x\n    tags: " + "[" * 100_000 + "\n", (3, 75)),  # unclosed: ~8 s in PyYAML before
    ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", (1, 68)),
    ("a: " + "{b: " * 100_000 + "}" * 100_000 + "\n", (1, 260)),
])
def test_deep_flow_nesting_is_refused_within_a_second(text, at):
    started = time.perf_counter()
    result = load_definitions_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0, elapsed  # about 0.01 s; generous for a loaded machine
    assert result.definitions is None
    error = result.errors[0]
    assert f"nests `[` / `{{` more than {defs_limits.MAX_DEPTH} levels deep (line {at[0]}, column {at[1]})" \
        in error.message and (error.line, error.column) == at


def test_brackets_in_quotes_comments_and_plain_text_are_not_nesting():
    deep = "[" * 100
    text = (f"# {deep}\nnote: \"{deep}\\\" {deep}\"\nother: '{deep}'' {deep}'\nplain: a{deep}\n"
            f"flow: [\"{deep}\", '{deep}', 1]\n")
    defs_limits.check_flow_depth(text)  # no error: nothing here nests
    with pytest.raises(defs_limits.DefinitionsTooLarge):
        defs_limits.check_flow_depth("x: " + "[" * (defs_limits.MAX_DEPTH + 1))
    defs_limits.check_flow_depth("x: " + "[" * defs_limits.MAX_DEPTH + "]" * defs_limits.MAX_DEPTH)
    defs_limits.check_flow_depth(SHIPPED)


def test_file_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(defs_limits, "MAX_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 200, encoding="utf-8")
    result = load_definitions(big)
    assert result.definitions is None
    assert "more than the 1,000 bytes allowed" in result.errors[0].message
    assert str(tmp_path) not in result.errors[0].message


def test_shipped_file_is_well_within_the_limits():
    assert len(SHIPPED.encode()) * 10 < defs_limits.MAX_BYTES
    assert load_definitions_text(SHIPPED).ok


def _check(text: str) -> None:
    started = time.perf_counter()
    result = load_definitions_text(text)  # must not raise
    assert time.perf_counter() - started < 10.0  # the shipped file loads in ~0.9 s on a loaded 2-core machine
    if result.definitions is None:
        assert result.errors and all(p.message for p in result.errors)
    for p in result.problems:
        assert p.line >= 0 and p.column >= 0
        assert "internal error" not in p.message, p


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=30))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_gives_problems_not_a_traceback(text):
    _check(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_values)
def test_any_yaml_structure_gives_problems(value):
    import yaml

    _check(yaml.safe_dump(value, allow_unicode=True))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(SHIPPED) - 1), st.text(max_size=20), st.integers(0, 40))
def test_edits_of_the_shipped_file_give_problems_not_a_traceback(at, insert, cut):
    """A careless edit: some characters replaced somewhere in the real file."""
    _check(SHIPPED[:at] + insert + SHIPPED[at + cut:])


def test_region_group_ids_that_could_become_paths_are_refused():
    """Before: a group id `../../../tmp/x` was accepted and reached the export's file names."""
    text = SHIPPED.replace("  - id: wansheng\n", "  - id: ../../../tmp/x\n", 1)
    assert text != SHIPPED
    result = load_definitions_text(text)
    assert result.definitions is None
    assert any(p.path.startswith("region_groups") and p.path.endswith(".id") for p in result.errors), result.errors


def test_file_names_are_built_only_from_safe_parts():
    from warehouse import export

    assert export.file_stem("2025-12", "group:wansheng", "heatmap") == "2025-12_group-wansheng_heatmap"
    for region in ("group:../../tmp/x", "group:a/b", "group:\x00"):
        with pytest.raises(export.ExportError, match="unsafe file name"):
            export.file_stem("2025-12", region, "heatmap")
    with pytest.raises(export.ExportError):
        export.zip_file_name("2025-12", "50", "../plan")
