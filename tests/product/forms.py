"""What the admin's product list posts when staff edit stock in it (its changelist formset)."""

from __future__ import annotations


def stock_list_form(*rows: tuple[object, object]) -> dict:
    """The list's form setting each (product, stock) row, as the Save button sends it."""
    form = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, (product, stock) in enumerate(rows):
        form[f"form-{n}-id"] = product.pk
        form[f"form-{n}-stock"] = str(stock)
    return form
