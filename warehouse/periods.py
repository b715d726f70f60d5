"""Reporting periods and time.

A period is written `2024` (year), `2024-Q3` (quarter) or `2024-07` (month). Times are stored in UTC and
shown in China Standard Time (UTC+8); "as of month M" means 24:00 CST on the last day of M.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), name="CST")

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
# Spellings seen in spreadsheets: 2024年, 2024年7月, 2024年第3季度, 2024/07, 202407
_ZH_YEAR = re.compile(r"^(\d{4})年?$")
_ZH_MONTH = re.compile(r"^(\d{4})\s*(?:年|/|\.)\s*(\d{1,2})\s*月?$")
_ZH_QUARTER = re.compile(r"^(\d{4})\s*年?\s*第?\s*([1-4一二三四])\s*季度?$")
_COMPACT_MONTH = re.compile(r"^(\d{4})(\d{2})$")
_ZH_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period. `kind` is 'annual', 'quarterly' or 'monthly' (the Frequency values)."""

    start: date
    end: date
    kind: str
    label: str

    @property
    def year(self) -> int:
        return self.start.year


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), "annual", f"{year}")


def quarter_period(year: int, quarter: int) -> Period:
    first_month = 3 * (quarter - 1) + 1
    last_month = first_month + 2
    end = date(year, last_month, calendar.monthrange(year, last_month)[1])
    return Period(date(year, first_month, 1), end, "quarterly", f"{year}-Q{quarter}")


def month_period(year: int, month: int) -> Period:
    end = date(year, month, calendar.monthrange(year, month)[1])
    return Period(date(year, month, 1), end, "monthly", f"{year}-{month:02d}")


def parse_period(text: str) -> Period:
    """Parse a period label; raises ValueError with a readable message when it is not one."""
    raw = str(text).strip()
    for pattern, build in (
        (_YEAR, lambda m: year_period(int(m[1]))),
        (_QUARTER, lambda m: quarter_period(int(m[1]), int(m[2]))),
        (_MONTH, lambda m: month_period(int(m[1]), int(m[2]))),
        (_ZH_YEAR, lambda m: year_period(int(m[1]))),
        (_ZH_MONTH, lambda m: month_period(int(m[1]), int(m[2]))),
        (_ZH_QUARTER, lambda m: quarter_period(int(m[1]), int(_ZH_DIGITS.get(m[2], m[2])))),
        (_COMPACT_MONTH, lambda m: month_period(int(m[1]), int(m[2]))),
    ):
        match = pattern.match(raw)
        if match:
            try:
                return build(match)
            except ValueError:
                break  # e.g. month 13
    raise ValueError(f"not a period: {raw!r} (expected 2024, 2024-Q3 or 2024-07)")


def month_end_utc(year: int, month: int) -> datetime:
    """24:00 China Standard Time on the last day of the month, as an aware UTC datetime."""
    last_day = calendar.monthrange(year, month)[1]
    local_midnight = datetime(year, month, last_day, tzinfo=CST) + timedelta(days=1)
    return local_midnight.astimezone(timezone.utc)


def period_end_utc(period: Period) -> datetime:
    """24:00 CST at the end of the period's last day, in UTC."""
    return month_end_utc(period.end.year, period.end.month)


def parse_as_of(text: str | None) -> datetime | None:
    """`2025-12` -> end of that month (24:00 CST); `2025-12-15` -> end of that day (CST);
    an ISO timestamp with or without zone (naive = CST). None -> None (everything known now)."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip()
    try:
        moment = _parse_as_of(raw)
    except OverflowError:  # e.g. 9999-12: 24:00 CST on 31 Dec 9999 is past datetime's range
        moment = None
    if moment is None or not (AS_OF_YEARS[0] <= (to_cst(moment) - timedelta(microseconds=1)).year <= AS_OF_YEARS[1]):
        raise ValueError(f"date out of range: {raw[:40]!r} (years {AS_OF_YEARS[0]}–{AS_OF_YEARS[1]})")
    return moment


# as-of times outside these years are refused (a typo such as 9999-12 or 0202-12, not a question anyone asks)
AS_OF_YEARS = (1900, 2199)


def _parse_as_of(raw: str) -> datetime:
    month = re.fullmatch(r"(\d{4})-(\d{1,2})", raw)
    if month:
        return month_end_utc(int(month[1]), int(month[2]))
    day = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw)
    if day:
        local = datetime(int(day[1]), int(day[2]), int(day[3]), tzinfo=CST) + timedelta(days=1)
        return local.astimezone(timezone.utc)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"not a date: {raw[:40]!r} (expected 2025-12, 2025-12-31 or an ISO timestamp)") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(timezone.utc)


def to_cst(moment: datetime) -> datetime:
    """Show a stored UTC time in China Standard Time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CST)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def year_fraction(moment: date | datetime, baseline_year: int, target_year: int) -> float:
    """Share of the plan path elapsed at `moment`: 0 at the end of the baseline year, 1 at the end of the
    target year, linear in days in between (may be < 0 or > 1 outside the path)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    start = date(baseline_year, 12, 31)
    end = date(target_year, 12, 31)
    return (day - start).days / (end - start).days
