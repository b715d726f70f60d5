"""The access model (warehouse/access.py) and the policy loader (warehouse/access_loader.py): grant matching,
scopes, the check where data is read, the sibling-rank redaction, who sees which log entry, and the loader's
file:line:column problems on the shipped example and on broken files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from warehouse import access
from warehouse.access_loader import load_policy, load_policy_bytes
from warehouse.defs_loader import require_definitions
from warehouse.regions import RegionRegistry

ROOT = Path(__file__).resolve().parent.parent
WANSHENG = ["500110004", "500110005", "500110100", "500110101", "500110102", "500110103", "500110104",
            "500110105", "500110106", "500110107"]


@pytest.fixture(scope="module")
def defs():
    return require_definitions(ROOT / "indicator_defs.yaml")


@pytest.fixture(scope="module")
def registry():
    return RegionRegistry.load(ROOT / "sample_data" / "regions.parquet")


@pytest.fixture(scope="module")
def policy(defs, registry):
    result = load_policy(ROOT / "access.example.yaml", definitions=defs, registry=registry)
    assert result.ok, [str(p) for p in result.problems]
    return result.policy


def members(defs):
    return lambda ref: list(defs.group(ref.split(":", 1)[1]).members)


def test_example_policy_matches_by_sub_email_and_group(policy, defs):
    m = members(defs)
    viewer = policy.identity({"sub": "viewer-500110", "email": "someone@cq.example.cn"}, m)
    assert (viewer.label, viewer.role, viewer.scope.roots) == ("someone@cq.example.cn", "viewer", ("500110",))
    # email is case-insensitive; sub wins over email
    sub = policy.identity({"sub": "viewer-500110", "email": "QIJIANG@cq.example.cn"}, m)
    assert sub.role == "viewer"
    submitter = policy.identity({"sub": "x", "email": "QiJiang@CQ.example.cn"}, m)
    assert submitter.role == "submitter" and submitter.scope.roots == ("500110",)
    # a group claim; the group scope is expanded to the zone's ten townships
    bureau = policy.identity({"sub": "y", "groups": ["other", "wansheng-bureau"]}, m)
    assert bureau.role == "submitter" and list(bureau.scope.roots) == WANSHENG
    admin = policy.identity({"sub": "z", "email": "admin@planwatch.example.cn"}, m)
    assert admin.role == "admin" and admin.scope.everything
    assert policy.identity({"sub": "nobody", "email": "nobody@x.cn"}, m) is None
    # an address the provider says it did not verify grants nothing
    assert policy.identity({"sub": "q", "email": "admin@planwatch.example.cn", "email_verified": False}, m) is None


def test_scope_allows_descendants_and_whole_groups_only(defs):
    m = members(defs)
    qijiang = access.Scope(("500110",))
    assert qijiang.allows("500110") and qijiang.allows("500110004") and qijiang.allows("500110004001")
    assert not qijiang.allows("500101") and not qijiang.allows("50") and not qijiang.allows("5001")
    assert not qijiang.allows("CN")
    assert qijiang.allows("group:wansheng", m)  # all ten members lie in 綦江区
    assert not qijiang.allows("group:sanzhou", m) and not qijiang.allows("group:nope", m)
    assert not access.Scope(("500110004",)).allows("group:wansheng", m)  # one member is not the group
    assert access.EVERYTHING.allows("51") and access.EVERYTHING.allows("group:sanzhou", m)
    assert qijiang.overlaps("50") and qijiang.overlaps("CN") and not qijiang.overlaps("51")
    assert access.Scope(("50",)).contains_scope(qijiang) and not qijiang.contains_scope(access.Scope(("50",)))


def test_roles_and_actions():
    viewer = access.Identity("v", "viewer", access.Scope(("50",)))
    submitter = access.Identity("s", "submitter", access.Scope(("50",)))
    reviewer = access.Identity("r", "reviewer", access.Scope(("5001",)))
    analyst = access.Identity("a", "analyst", access.Scope(("50",)))
    admin = access.Identity("x", "admin", access.EVERYTHING)
    table = {who.role: [a for a in access.ACTIONS if access.can(who, a)]
             for who in (viewer, submitter, reviewer, analyst, admin, access.DEMO)}
    assert table == {
        "viewer": ["view", "export", "supervise"],
        "submitter": ["view", "export", "upload", "log_own", "report"],
        "reviewer": ["view", "export", "log_own", "review", "pending"],
        "analyst": ["view", "export", "upload", "log_own", "log_scope", "pending"],
        "admin": list(access.ACTIONS),
        "demo": ["view", "export", "log_all"],
    }
    assert not access.can(None, "view") and not access.can(admin, "drop_tables")


def test_check_query_refuses_regions_outside_the_scope(defs):
    m = members(defs)
    viewer = access.Identity("v", "viewer", access.Scope(("500110",)))
    for method in ("status", "children_status", "trajectory", "history", "overdue", "alerts", "descendants_status"):
        access.check_query(viewer, method, ("500110004",), m)
        with pytest.raises(access.OutsideScope) as caught:
            access.check_query(viewer, method, ("500101",), m)
        assert caught.value.region == "500101"
    with pytest.raises(access.OutsideScope):
        access.check_query(viewer, "status", ("50",), m)
    with pytest.raises(access.OutsideScope):
        access.check_query(viewer, "some_new_method", ("500110",), m)  # unknown reads are refused
    access.check_query(viewer, "rank", ("50", "composite"), m)  # decided on the rows (redact_rank)
    access.check_query(access.DEMO, "status", ("51",), m)


def test_sibling_ranking_keeps_own_row_and_the_count(defs):
    m = members(defs)
    frame = pl.DataFrame({"region_code": ["500101", "500110", "500112", "500113"],
                          "region_name": ["万州区", "綦江区", "渝北区", "巴南区"],
                          "rank": [1, 2, 3, None], "score": [0.9, 0.8, 0.7, None]})
    viewer = access.Identity("v", "viewer", access.Scope(("500110",)))
    mine = access.redact_rank(frame, "50", viewer, m)
    assert mine.to_dicts() == [{"region_code": "500110", "region_name": "綦江区", "rank": 2, "score": 0.8,
                                "n_ranked": 3}]
    from warehouse import views

    assert views.rank_of(mine, "500110")["n"] == 3  # "2 / 3" on the region page
    # inside the scope: the whole table
    assert access.redact_rank(frame, "500110", viewer, m).equals(frame)
    # no row of its own: refused
    with pytest.raises(access.OutsideScope):
        access.redact_rank(frame, "51", access.Identity("v", "viewer", access.Scope(("5101",))), m)


def test_who_sees_which_log_entry(policy, defs):
    m = members(defs)
    scope_of = lambda user: policy.scope_of_user(user, m)  # noqa: E731
    analyst = policy.identity({"sub": "a", "email": "analyst@cq.example.cn"}, m)
    submitter = policy.identity({"sub": "s", "email": "qijiang@cq.example.cn"}, m)
    viewer = policy.identity({"sub": "viewer-500110"}, m)
    admin = policy.identity({"sub": "z", "email": "admin@planwatch.example.cn"}, m)
    assert access.sees_log_entry(submitter, "qijiang@cq.example.cn", scope_of)
    assert not access.sees_log_entry(submitter, "analyst@cq.example.cn", scope_of)
    assert access.sees_log_entry(analyst, "qijiang@cq.example.cn", scope_of)  # 500110 lies inside 50
    assert not access.sees_log_entry(analyst, "admin@planwatch.example.cn", scope_of)  # everything is not inside 50
    assert not access.sees_log_entry(analyst, "root", scope_of)  # the CLI's OS user: the admin's
    assert access.sees_log_entry(admin, "root", scope_of)
    assert not access.sees_log_entry(viewer, "viewer-500110", scope_of)


def _problems(text: str, defs, registry) -> list[str]:
    result = load_policy_bytes(text.encode(), "access.yaml", definitions=defs, registry=registry)
    assert result.policy is None
    return [str(p) for p in result.problems]


def test_loader_reports_position_and_suggestion(defs, registry):
    text = (
        "version: 1\n"
        "grants:\n"
        "  - email: leader@cq.example.cn\n"
        "    role: veiwer\n"
        '    scopes: ["50"]\n'
        "  - emial: x@y.cn\n"
        "    role: viewer\n"
        "    scopes: [50]\n"
        "  - sub: abc\n"
        "    role: submitter\n"
        '    scopes: ["500199", "group:wansheg", "hello"]\n'
        "  - sub: abc\n"
        "    role: viewer\n"
        '    scopes: ["50"]\n'
        "  - group: g1\n"
        "    role: analyst\n"
    )
    assert _problems(text, defs, registry) == [
        "access.yaml:4:11: error: grants[0].role: `veiwer` is not an allowed value (expected one of `viewer`, "
        '`submitter`, `reviewer`, `analyst`, `admin`, found "veiwer" (text); did you mean `viewer`?)',
        "access.yaml:6:5: error: grants[1].emial: unknown field `emial` (expected one of `email`, `sub`, `group`, "
        "`role`, `scopes`, `units`, `note`; did you mean `email`?)",
        "access.yaml:11:14: error: grants[2].scopes[0]: region `500199` is not in the region registry "
        "(did you mean `500119`?)",
        "access.yaml:11:24: error: grants[2].scopes[1]: unknown region group `wansheg` (expected a `region_groups` "
        "id of the definitions; did you mean `group:wansheng`?)",
        "access.yaml:11:41: error: grants[2].scopes[2]: not a region code (expected an NBS code (2, 4, 6, 9 or 12 "
        'digits), `CN` or `group:<id>`, found "hello" (text))',
        "access.yaml:12:10: error: grants[3].sub: `sub: abc` is granted twice (first at line 9); only the first "
        "grant would apply",
        "access.yaml:15:5: error: grants[4]: missing `scopes`: which regions may this identity see? (expected "
        'e.g. scopes: ["500110"] or scopes: ["group:wansheng"] or scopes: [CN])',
    ]


@pytest.mark.parametrize("text, expected", [
    ("", "access.yaml:1:1: error: the file is empty"),
    ("grants:\n  - email: a@b.cn\n\trole: viewer\n", "access.yaml:3:1: error: YAML syntax error: tabs are not allowed"),
    ("grants: nope\n", "access.yaml:1:9: error: grants: `grants` must be a list"),
    ("grant: []\n", "access.yaml:1:1: error: grant: unknown field `grant`"),
    ("grants:\n  - email: a@b.cn\n    sub: x\n    role: admin\n", "each grant names exactly one identity"),
    ("grants:\n  - email: not-mail\n    role: viewer\n    scopes: [CN]\n", "not an email address"),
    ("grants:\n  - sub: 12\n    role: viewer\n    scopes: [CN]\n", 'put it in quotes: "12"'),
])
def test_loader_bad_files(text, expected, defs, registry):
    problems = _problems(text, defs, registry)
    assert any(expected in p for p in problems), problems


def test_padded_codes_are_canonical_and_admin_scopes_warned(defs, registry):
    result = load_policy_bytes(b'grants:\n  - sub: a\n    role: viewer\n    scopes: ["500000", 500110000000]\n'
                               b'  - sub: b\n    role: admin\n    scopes: ["50"]\n', "access.yaml", defs, registry)
    assert result.ok
    assert result.policy.grants[0].scopes == ("50", "500110")
    assert [p.severity for p in result.problems] == ["warning"]


def test_cli_access_check(tmp_path):
    from typer.testing import CliRunner

    from warehouse.cli import _register, app

    _register()
    ok = CliRunner().invoke(app, ["access", "check", str(ROOT / "access.example.yaml")])
    assert ok.exit_code == 0 and "8 grants" in ok.output, ok.output  # 7 + the department (units)
    bad = tmp_path / "access.yaml"
    bad.write_text("grants:\n  - email: a@b.cn\n    role: veiwer\n    scopes: [CN]\n", encoding="utf-8")
    failed = CliRunner().invoke(app, ["access", "check", str(bad)])
    assert failed.exit_code == 1 and ":3:11: error:" in failed.output and "did you mean `viewer`" in failed.output
