"""The submission templates shipped in sample_data/ (`python -m warehouse.templates sample_data`).

Two example rows with indicator ids from the shipped indicator_defs.yaml: a count reported monthly and a
rate given as numerator and denominator. The contract is in docs/submissions.md.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from openpyxl import Workbook

HEADER = ["地区代码", "地区名称", "指标代码", "统计期", "数值", "分子", "分母", "备注", "填报人", "填报时间"]
EXAMPLE_ROWS = [
    ["500103", "渝中区", "registered_volunteers", "2025-07", "12.5", "", "",
     "示例：计数指标填数值（单位：万人）", "张三", "2025-08-05 10:30"],
    ["500000", "重庆市", "township_elderly_care_coverage", "2025-Q2", "", "900", "1,000",
     "示例：比率指标可只填分子和分母，数值自动计算", "张三", ""],
]
NOTES = [
    "每行一个地区、指标、统计期 / one row per region, indicator and period",
    "统计期：2024、2024-Q3、2024-07 / period formats",
    "“—”“-”或空白表示缺失，不按 0 处理 / '—', '-' or blank mean missing, never 0",
    "只读取第一个工作表 / only the first sheet is read",
    "详见 docs/submissions.md / see docs/submissions.md",
]


def write_submission_templates(folder: Path) -> tuple[Path, Path]:
    """Write submission_template.csv (UTF-8 with BOM, opens in Excel) and submission_template.xlsx."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "submission_template.csv"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(EXAMPLE_ROWS)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "填报"
    sheet.append(HEADER)
    for row in EXAMPLE_ROWS:
        sheet.append([cell or None for cell in row])
    for cells in sheet.iter_rows():  # codes and periods as text, so Excel keeps leading zeros and "2025-07"
        for cell in cells:
            cell.number_format = "@"
    notes = workbook.create_sheet("说明 notes")
    for line in NOTES:
        notes.append([line])
    xlsx_path = folder / "submission_template.xlsx"
    workbook.save(xlsx_path)
    return csv_path, xlsx_path


if __name__ == "__main__":
    for path in write_submission_templates(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_data")):
        print(path)
