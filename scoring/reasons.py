"""Reason codes: plain-words explanations of the features that cost the most points.

Stored on Score rows (and the application's latest score) in both languages, so the
workbench shows them in the reader's language without re-scoring.
"""

import json

import numpy as np
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from scoring.features import FEATURES

REASON_TEXT = {
    "amount": _("Requested amount is high"),
    "term_months": _("Long loan term"),
    "credit_score": _("Low credit bureau score"),
    "years_in_business": _("Few years in business"),
    "monthly_revenue": _("Low monthly revenue"),
    "monthly_cost": _("High monthly cost"),
    "monthly_foot_traffic": _("Low foot traffic"),
    "employees": _("Few employees"),
    "area_m2": _("Small business premises"),
    "debt_ratio": _("High debt ratio"),
    "current_ratio": _("Weak current ratio"),
    "net_margin": _("Thin net profit margin"),
    "operating_margin": _("Costs close to revenue (thin operating margin)"),
    "amount_to_revenue": _("Amount is large relative to revenue"),
    "prior_applications": _("Borrowing history"),
    "prior_approved": _("Little approved borrowing history"),
    "prior_rejected": _("Earlier applications were rejected"),
    "credit_score_missing": _("No credit bureau score"),
    "financials_missing": _("No financial statements"),
    "product": _("Higher-risk loan product"),
    "industry": _("Higher-risk industry"),
    "city_tier": _("Higher-risk city tier"),
}

REASON_CODES = {name: f"R{i + 1:02d}" for i, name in enumerate(FEATURES)}


def reason_texts(feature: str) -> dict:
    text = REASON_TEXT.get(feature, feature)
    with translation.override("en"):
        en = str(text)
    with translation.override("zh-hans"):
        zh = str(text)
    return {"en": en, "zh_hans": zh}


def reason_dict(feature: str, points_lost: int) -> dict:
    return {
        "code": REASON_CODES.get(feature, ""),
        "feature": feature,
        "points_lost": int(points_lost),
        **reason_texts(feature),
    }


class ReasonEncoder:
    """Renders ``[(feature, points_lost), ...]`` to the stored JSON text, fast (a million rows)."""

    def __init__(self):
        self._prefix = {}

    def _head(self, feature: str) -> str:
        if feature not in self._prefix:
            d = reason_dict(feature, 0)
            del d["points_lost"]
            self._prefix[feature] = json.dumps(d, ensure_ascii=False)[:-1] + ', "points_lost": '
        return self._prefix[feature]

    def dumps(self, reasons) -> str:
        return "[" + ", ".join(self._head(f) + str(int(p)) + "}" for f, p in reasons) + "]"

    def dumps_arrays(self, names: list[str], index: np.ndarray, lost: np.ndarray) -> list[str]:
        """:meth:`dumps` of every row at once, from the scorecard's reason arrays (per row
        the indices into ``names`` and the points lost, largest first): the same text,
        built column by column instead of row by row."""
        n = len(index)
        heads = np.array([self._head(name) for name in names], dtype=object)
        out = np.full(n, "[", dtype=object)
        for k in range(index.shape[1] if n else 0):
            cost = lost[:, k]
            piece = heads[index[:, k]] + cost.astype(str).astype(object) + "}"
            # Losses are sorted largest first: a column's reasons follow the previous one's.
            out = np.where(cost > 0, out + ("" if k == 0 else ", ") + piece, out)
        return (out + "]").tolist()


def reason_text(reason: dict, language: str | None = None) -> str:
    """One stored reason in the current (or given) language."""
    lang = (language or translation.get_language() or "en").lower()
    text = reason.get("zh_hans") if lang.startswith("zh") else reason.get("en")
    return text or str(REASON_TEXT.get(reason.get("feature", ""), reason.get("feature", "")))
