"""Extra checks of indicator_defs.yaml, kept out of defs_loader.py (which owns parsing and positions).

- Full-width punctuation: a Chinese `：` or `，` typed where YAML needs `:` or `,` is named as such.
- `attribute: 约束性 / 预期性` (as the plans print it) is accepted and read as binding / expected.
- A comparator against the indicator's direction (`direction: lower` with `≥`, `higher` with `≤`) is an error.
- A Chinese id gets an ASCII suggestion (from the English name when there is one).
- `baseline: {from: warehouse, ...}` takes no `value`.
"""

from __future__ import annotations

import re
from typing import Any

FULL_WIDTH = {"：": ":", "，": ","}
ATTRIBUTE_SPELLINGS = {"约束性": "binding", "约束性指标": "binding", "预期性": "expected", "预期性指标": "expected"}
COMPARATOR_SIGN = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "="}


def full_width_hint(text: str, first_line: int, last_line: int) -> tuple[int, int, str] | None:
    """(line, column, message) for the first full-width `：` / `，` outside quotes on lines first..last
    (1-based, inclusive), or None. Used to explain a YAML syntax error."""
    lines = text.splitlines()
    for number in range(max(first_line, 1), min(last_line, len(lines)) + 1):
        line = _strip_quoted(lines[number - 1])
        for ch, ascii_ in FULL_WIDTH.items():
            col = line.find(ch)
            if col >= 0 and not line.lstrip().startswith("#"):
                name = "colon" if ascii_ == ":" else "comma"
                return (number, col + 1,
                        f"YAML syntax error: full-width {name} `{ch}` (typed with a Chinese input method) is not a "
                        f"YAML separator; type the ASCII `{ascii_}` (followed by a space), or quote the text if "
                        f"`{ch}` belongs to it")
    return None


def _strip_quoted(line: str) -> str:
    """The line with quoted text blanked (same length), so punctuation inside quotes is not flagged."""
    return re.sub(r'"[^"]*"|\'[^\']*\'', lambda m: " " * len(m.group(0)), line)


def normalise_attributes(raw: dict) -> None:
    """Read `attribute: 约束性 / 预期性` as binding / expected (in place)."""
    plans = raw.get("plans")
    for plan in plans if isinstance(plans, list) else []:
        if not isinstance(plan, dict) or not isinstance(plan.get("targets"), list):
            continue
        for target in plan["targets"]:
            if isinstance(target, dict) and isinstance(target.get("attribute"), str):
                spelled = target["attribute"].strip()
                if spelled in ATTRIBUTE_SPELLINGS:
                    target["attribute"] = ATTRIBUTE_SPELLINGS[spelled]


def id_hints(raw: dict) -> dict[tuple, str]:
    """An ASCII id suggestion for every indicator / plan id that is not ASCII, by its path (section, i, "id")."""
    hints: dict[tuple, str] = {}
    for section, stem in (("indicators", "indicator"), ("plans", "plan")):
        items = raw.get(section)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str) or ident.isascii():
                continue
            name = item.get("name") if isinstance(item.get("name"), dict) else {}
            english = str(name.get("en") or "")
            guess = re.sub(r"[^a-z0-9]+", "_", english.lower()).strip("_")
            if not guess or not guess[0].isalpha():
                guess = f"{stem}_{i + 1}"
            while len(guess) > 40 and "_" in guess:  # whole words only
                guess = guess.rsplit("_", 1)[0]
            hints[(section, i, "id")] = guess
    return hints


def direction_problem(direction: str, comparator: str) -> str | None:
    """The message when a target's comparator points against the indicator's direction, else None."""
    sign = COMPARATOR_SIGN.get(comparator, comparator)
    if direction == "lower" and comparator in (">=", ">"):
        return (f"target comparator `{sign}` contradicts `direction: lower` (lower is better): a lower-is-better "
                "target reads `≤`; or the indicator's direction is `higher`")
    if direction == "higher" and comparator in ("<=", "<"):
        return (f"target comparator `{sign}` contradicts `direction: higher` (higher is better): a "
                "higher-is-better target reads `≥`; or the indicator's direction is `lower`")
    return None


def baseline_problem(baseline: Any) -> str | None:
    """`from: warehouse` takes each region's value from the data: a written `value` would be ignored."""
    if baseline is not None and getattr(baseline, "from_", None) == "warehouse" and baseline.value is not None:
        return "`from: warehouse` takes each region's own value from the warehouse; remove `value`"
    return None
