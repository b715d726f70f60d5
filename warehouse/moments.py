"""As-of moments: the instant a query is evaluated at, and the calendar day it closes (China Standard Time).

Kept apart from engine.py so that alerts and rankings can use them without importing the engine (no cycle).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from warehouse.periods import month_end_utc, to_cst, utc_now


def as_of_moment(as_of: datetime | None) -> datetime:
    """An aware UTC instant; None is now, a naive datetime is read as UTC."""
    moment = utc_now() if as_of is None else as_of
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def as_of_date(moment: datetime) -> date:
    """The CST calendar day an as-of instant closes: 24:00 CST on 31 Dec -> 31 Dec."""
    return (to_cst(moment) - timedelta(microseconds=1)).date()


def previous_month_end(moment: datetime) -> datetime:
    """As-of one month earlier: the end (24:00 CST) of the month before the as-of day's month."""
    day = as_of_date(moment)
    first = day.replace(day=1) - timedelta(days=1)
    return month_end_utc(first.year, first.month)
