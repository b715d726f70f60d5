"""逐级审核: a reviewer approves or returns what the offices one level down submitted (docs/reporting.md).
The logic is in warehouse/review_ui.py and review_store.py."""

from warehouse.review_ui import review_page

review_page()
