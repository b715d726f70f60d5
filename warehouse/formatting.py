"""How numbers, periods, times and statuses are shown (dashboard and export alike).

Status colours follow the Okabe-Ito colour-blind-safe palette (green = bluish green, amber = orange,
red = vermillion, grey), and every status also has a symbol and a text label, so colour is never the only cue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from warehouse import i18n
from warehouse.periods import CST, parse_period, to_cst, utc_now

MISSING = "—"

# Engine status values, most severe first (the order used for sorting and legends).
STATUSES = ("not_achieved", "far_behind", "behind", "on_schedule", "achieved", "not_reported", "too_early",
            "not_assessable", "no_data")

i18n.register({
    "status.too_early": {"zh": "观察期", "en": "Too early to judge"},
    "status.not_reported": {"zh": "未报送", "en": "Not reported"},
    "formatting.awaiting_final": {"zh": "待终期数据", "en": "Awaiting final data"},
    "formatting.as_of_meaning": {
        "zh": "“截至”指报送被收到的时间：只计此前收到的数据（补录的历史数据按原收到时间计）",
        "en": "“As of” means received by: only data received by then counts (backfilled history at its "
              "original receipt time)",
    },
})

# Colour buckets shown to leaders: red / amber / green / achieved / grey.
BUCKET_OF_STATUS = {
    "achieved": "achieved",
    "on_schedule": "green",
    "behind": "amber",
    "far_behind": "red",
    "not_achieved": "red",
    "no_data": "grey",
    "not_assessable": "grey",
    "too_early": "grey",
    "not_reported": "grey",
}
BUCKETS = ("red", "amber", "green", "achieved", "grey")  # severity order
# Alerts also carry "overdue" (a report not received in time); it is not an assessment status.
BUCKET_OF_STATUS["overdue"] = "grey"

# Okabe-Ito: vermillion, orange, bluish green, blue; plus two greys.
COLOURS = {
    "not_achieved": "#B33F00",  # darker vermillion: final failure
    "far_behind": "#D55E00",
    "behind": "#E69F00",
    "on_schedule": "#009E73",
    "achieved": "#0072B2",  # blue: done, distinct from "green, on track"
    "no_data": "#9E9E9E",
    "not_assessable": "#C8C8C8",
    "too_early": "#56B4E9",  # Okabe-Ito sky blue: watched, not judged yet
    "not_reported": "#6E6E6E",  # dark grey: the final figure never came
    "overdue": "#CC79A7",  # Okabe-Ito reddish purple
}
BUCKET_COLOURS = {
    "red": COLOURS["far_behind"],
    "amber": COLOURS["behind"],
    "green": COLOURS["on_schedule"],
    "achieved": COLOURS["achieved"],
    "grey": COLOURS["no_data"],
}
SYMBOLS = {
    "not_achieved": "✖",
    "far_behind": "▼",
    "behind": "▲",
    "on_schedule": "●",
    "achieved": "✔",
    "no_data": "○",
    "not_assessable": "–",
    "too_early": "◔",
    "not_reported": "⊘",
    "overdue": "◷",  # has a glyph in Noto CJK (the export renders with the server's fonts)
}
BUCKET_SYMBOLS = {"red": "▼", "amber": "▲", "green": "●", "achieved": "✔", "grey": "○"}


@dataclass(frozen=True)
class StatusLabel:
    status: str
    label: str  # "严重滞后" / "Far behind"
    colour: str  # hex
    symbol: str  # "▼"
    bucket: str  # red / amber / green / achieved / grey

    @property
    def text(self) -> str:
        """Symbol and label, e.g. "▼ 严重滞后"."""
        return f"{self.symbol} {self.label}"


def status_label(status: str | None, lang: str = "zh") -> StatusLabel:
    """Label, colour, symbol and bucket for an engine status value (None counts as no_data)."""
    key = status or "no_data"
    if key not in COLOURS:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}, overdue")
    return StatusLabel(key, i18n.t(f"status.{key}", lang), COLOURS[key], SYMBOLS[key], BUCKET_OF_STATUS[key])


def status_text(status: str | None, lang: str = "zh") -> str:
    return status_label(status, lang).text


def bucket_label(bucket: str, lang: str = "zh") -> str:
    return f"{BUCKET_SYMBOLS[bucket]} {i18n.t(f'bucket.{bucket}', lang)}"


def severity_rank(status: str | None) -> int:
    """0 for the most severe status; used to sort rows (unknown values last)."""
    key = status or "no_data"
    return STATUSES.index(key) if key in STATUSES else len(STATUSES)


# ---- numbers ----

_TIGHT_UNITS = {"%", "‰", "％"}


def format_number(value: float | int | None, digits: int | None = None) -> str:
    """Thousands separators; integers without decimals; otherwise 1 decimal (2 below 1). None/NaN -> "—"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    number = float(value)
    if math.isinf(number):  # a stored value no check caught (warehouse/value_sanity.py): shown, never raised on
        return "∞" if number > 0 else "-∞"
    if digits is None:
        if number == round(number) and abs(number) < 1e15:
            digits = 0
        elif abs(number) < 1:
            digits = 2
        else:
            digits = 1
    text = f"{number:,.{digits}f}"
    return "0" if text in ("-0", "-0.0", "-0.00") and digits == 0 else text


def format_value(value: float | int | None, unit: str | None, digits: int | None = None) -> str:
    """A number with its unit: "85.3%", "1,250 平方米", "12 个". None -> "—" (no unit)."""
    number = format_number(value, digits)
    if number == MISSING or not unit:
        return number
    unit = unit.strip()
    if unit in _TIGHT_UNITS:
        return f"{number}{unit}"
    return f"{number} {unit}"


def format_progress(ratio: float | None) -> str:
    """Progress ratio as a percentage of schedule, the one rounding rule of CLI, pages and PDF
    (status.format_ratio): rounded down, 0.853 -> "85%", 0.667 -> "66%"; "> 200%" / "< -100%" beyond the
    display caps. None -> "—"."""
    from warehouse.status import format_ratio

    return format_ratio(ratio)


def format_percent(share: float | None, digits: int = 0) -> str:
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return MISSING
    return f"{share * 100:.{digits}f}%"


COMPARATOR_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}


def comparator_sign(comparator: str | None) -> str:
    """'>=' -> '≥', '<=' -> '≤' (as plans print them)."""
    return COMPARATOR_SIGNS.get(comparator or "", comparator or "")


# ---- periods and times ----

_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_period(period: str | None, lang: str = "zh") -> str:
    """A period as it reads: 2024 -> 2024年 / 2024; 2024-Q3 -> 2024年第3季度 / Q3 2024; 2024-07 -> 2024年7月 / Jul 2024."""
    if period is None or str(period).strip() == "":
        return MISSING
    try:
        parsed = parse_period(str(period))
    except ValueError:
        return str(period)
    year = parsed.start.year
    if parsed.kind == "annual":
        return f"{year}年" if lang == "zh" else f"{year}"
    if parsed.kind == "quarterly":
        quarter = (parsed.start.month - 1) // 3 + 1
        return f"{year}年第{quarter}季度" if lang == "zh" else f"Q{quarter} {year}"
    month = parsed.start.month
    return f"{year}年{month}月" if lang == "zh" else f"{_EN_MONTHS[month - 1]} {year}"


def format_month(month: str | None, lang: str = "zh") -> str:
    """'2025-12' -> 2025年12月 / Dec 2025."""
    return format_period(month, lang)


def format_date(day: date | datetime | None, lang: str = "zh") -> str:
    """A calendar date (aware datetimes are converted to CST first): 2025年12月31日 / 2025-12-31."""
    if day is None:
        return MISSING
    if isinstance(day, datetime):
        day = to_cst(day).date()
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.isoformat()


def as_of_day(as_of: datetime) -> date:
    """The CST calendar day an as-of moment closes: 24:00 CST (00:00 of the next day) belongs to the day before."""
    return (to_cst(as_of) - timedelta(microseconds=1)).date()


def format_cst(moment: datetime | None, lang: str = "zh") -> str:
    """A stored UTC time shown in China Standard Time: 2025-12-31 16:05（北京时间） / 2025-12-31 16:05 CST."""
    if moment is None:
        return MISSING
    local = to_cst(moment)
    stamp = local.strftime("%Y-%m-%d %H:%M")
    return f"{stamp}（北京时间）" if lang == "zh" else f"{stamp} CST"


def format_as_of(as_of: datetime | None, lang: str = "zh", now: datetime | None = None) -> str:
    """What the as-of setting means to a reader. Month ends (24:00 CST) read as the day itself."""
    if as_of is None:
        return i18n.t("sidebar.as_of_latest", lang, when=format_cst(now or utc_now(), lang))
    local = to_cst(as_of)
    if local.hour == 0 and local.minute == 0 and local.second == 0:
        # 24:00 at the end of the previous day
        day = (local - timedelta(days=1)).date()
        when = f"{format_date(day, lang)} 24:00" + ("（北京时间）" if lang == "zh" else " CST")
    else:
        when = format_cst(as_of, lang)
    return i18n.t("sidebar.as_of_caption", lang, when=when)


def as_of_meaning(lang: str = "zh") -> str:
    """One line saying what "as of" means (received by; backfilled history at its receipt time)."""
    return i18n.t("formatting.as_of_meaning", lang)


def plan_elapsed(start_year: int, target_year: int, moment: datetime | date | None = None) -> float:
    """Share of the plan period (00:00 CST on 1 Jan of start_year to 24:00 CST on 31 Dec of target_year)
    elapsed at `moment` (a date counts to its end), clamped to [0, 1]."""
    if moment is None:
        moment = utc_now()
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=CST) + timedelta(days=1)
    start = datetime(start_year, 1, 1, tzinfo=CST)
    end = datetime(target_year + 1, 1, 1, tzinfo=CST)
    share = (moment - start) / (end - start)
    return min(1.0, max(0.0, share))


def today_cst() -> date:
    return datetime.now(CST).date()
