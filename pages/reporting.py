"""填报: a signed-in office fills in its figures for a region and period, saves a draft, submits for review.
The logic is in warehouse/review_ui.py, reporting_form.py and review_store.py (docs/reporting.md)."""

from warehouse.review_ui import reporting_page

reporting_page()
