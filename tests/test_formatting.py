"""How numbers are shown: a value short of a round target never prints as the round target."""

from __future__ import annotations

import pytest

from warehouse.formatting import format_number, format_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1250.0, "1,250"),       # whole numbers without decimals
        (85.34, "85.3"),         # one decimal by default
        (0.5, "0.50"),           # two below 1
        (99.96, "99.96"),        # not "100.0": it sits next to a "not achieved" mark for a >= 100 target
        (59.97, "59.97"),        # not "60.0"
        (-99.96, "-99.96"),
        (99.9996, "99.9996"),
        (99.99996, "99.9999"),   # beyond 4 decimals: cut towards zero, never rounded up to the whole number
        (0.999, "0.999"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_explicit_digits_are_kept():
    assert format_number(99.96, digits=1) == "100.0"  # a caller that asks for 1 decimal gets it


def test_format_value_units():
    assert format_value(99.96, "%") == "99.96%"
    assert format_value(12.0, "个") == "12 个"


def test_english_singular_when_n_is_one():
    from warehouse import i18n

    assert i18n.t("region.overdue_count", "en", n=1) == "1 overdue report"
    assert i18n.t("region.overdue_count", "en", n=2) == "2 overdue reports"
    assert i18n.t("region.overdue_count", "en", n=0) == "0 overdue reports"
    assert i18n.t("region.overdue_count", "zh", n=1) == "共 1 项逾期未报"
    import warehouse.tasks_overview  # noqa: F401 - registers its strings

    assert i18n.t("tasks_overview.count", "en", n=1) == "1 督办 item overdue without an answer"
