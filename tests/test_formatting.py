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
