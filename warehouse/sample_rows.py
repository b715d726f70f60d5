"""The records the synthetic sample is made of (shared by sample.py and sample_country.py)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime

# who submits (one file per submitter and reporting round), its encoding and its default 填报人
SUBMITTERS = {
    "chongqing": ("utf-8-sig", "重庆市民政局"),
    "sichuan": ("gb18030", "四川省民政厅"),
    "yuxi": ("utf-8-sig", "玉溪市民政局"),
    "national": ("utf-8-sig", "民政部基层政权建设和社区治理司"),
    "provinces": ("utf-8-sig", "全国社区服务统计系统"),  # rows carry each province's own 填报人
}


@dataclass(frozen=True)
class Subject:
    code: str
    name: str
    level: str
    submitter: str
    n_urban: int
    n_rural: int
    # for a plan's own region (50, 51, 5304): submit only the indicators its regular reporters, at this
    # level, cannot report (e.g. a province-wide share of counties reported at province level only)
    only_if_not_reported_at: str | None = None
    province: str | None = None  # outside the deep parts: the province whose tendency the reporter follows
    who: str | None = None  # 填报人 when not the submitter's default


@dataclass
class Row:
    subject: Subject
    indicator_id: str
    period: str
    period_end: date
    value: float | None
    numerator: float | None
    denominator: float | None
    submitted_at: datetime  # aware UTC
    ratio: bool = False  # value computed at ingest from numerator / denominator


def rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
