"""The active loan products as the public form reads them: a per-process copy
(``loansite.process_copy``), read again after any product is saved or deleted."""

import copy

from loans.models import LoanProduct
from loansite.process_copy import VersionedCopy


def _products_load() -> dict:
    active = list(LoanProduct.objects.filter(active=True).order_by("code"))
    return {"active": active, "by_pk": {product.pk: product for product in active}}


_products = VersionedCopy("loans:products", _products_load)


def product_active_cached() -> list[LoanProduct]:
    """The active products by code (shared instances: read them, never change them)."""
    return _products.get()["active"]


def product_active_get(pk) -> LoanProduct | None:
    """A copy of the active product ``pk`` (the caller may keep or change it), or ``None``."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return None
    product = _products.get()["by_pk"].get(key)
    return copy.copy(product) if product is not None else None


def products_changed(**_kwargs) -> None:
    """A product was saved or deleted (signal receiver): every process reads them again."""
    _products.changed()
