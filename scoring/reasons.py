"""Reason codes: plain-words explanations of the features that cost the most points.

Stored on Score rows (and the application's latest score) as ``{"feature", "points_lost"}``
pairs, largest loss first; the code and the words in each language come from here when
they are shown (:func:`reasons_expand`), so a stored reason stays small and a wording fix
reaches old scores too. Rows stored with their texts (the earlier format) still read.
"""

import json

import numpy as np
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from scoring.features import FEATURES
from scoring.scorecard import UNKNOWN_REASON

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

# What a numeric input is called, for "<feature>:unknown" reasons (points lost because
# the value is not known, not because it is poor).
FEATURE_LABELS = {
    "amount": _("Requested amount"),
    "term_months": _("Term (months)"),
    "credit_score": _("Credit bureau score"),
    "years_in_business": _("Years in business"),
    "monthly_revenue": _("Monthly revenue"),
    "monthly_cost": _("Monthly cost"),
    "monthly_foot_traffic": _("Monthly foot traffic"),
    "employees": _("Employees"),
    "area_m2": _("Business area (m²)"),
    "debt_ratio": _("Debt ratio"),
    "current_ratio": _("Current ratio"),
    "net_margin": _("Net profit margin"),
    "operating_margin": _("Operating margin"),
    "amount_to_revenue": _("Amount relative to revenue"),
    "prior_applications": _("Earlier applications"),
    "prior_approved": _("Earlier applications approved"),
    "prior_rejected": _("Earlier applications rejected"),
}


def _known(feature: str) -> tuple[str, bool]:
    """``(feature, unknown)``: the feature a reason is about, and whether its value was not known."""
    if feature.endswith(UNKNOWN_REASON):
        return feature[: -len(UNKNOWN_REASON)], True
    return feature, False


def reason_words(feature: str):
    """The reason in plain words (lazy: rendered in the active language), or ``None``."""
    base, unknown = _known(feature)
    if not unknown:
        return REASON_TEXT.get(feature)
    label = FEATURE_LABELS.get(base)
    if label is None:
        return None
    return format_lazy(_("{item} not known"), item=label)


def reason_code(feature: str) -> str:
    """R01..R22 by feature; a value that was not known adds "U" (R10U: debt ratio not known)."""
    base, unknown = _known(feature)
    code = REASON_CODES.get(base, "")
    return f"{code}U" if code and unknown else code


def reason_texts(feature: str) -> dict:
    text = reason_words(feature) or feature
    with translation.override("en"):
        en = str(text)
    with translation.override("zh-hans"):
        zh = str(text)
    return {"en": en, "zh_hans": zh}


def reason_dict(feature: str, points_lost: int) -> dict:
    return {
        "code": reason_code(feature),
        "feature": feature,
        "points_lost": int(points_lost),
        **reason_texts(feature),
    }


def reasons_expand(stored) -> list[dict]:
    """Stored reasons as shown and served: code, feature, points lost and the words in
    English and Simplified Chinese. Entries that are not reasons are skipped."""
    out = []
    for reason in stored or []:
        if not isinstance(reason, dict) or not reason.get("feature"):
            continue
        full = reason_dict(reason["feature"], reason.get("points_lost") or 0)
        if reason_words(reason["feature"]) is None:  # a feature we have no words for keeps its stored ones
            full.update({k: reason[k] for k in ("code", "en", "zh_hans") if reason.get(k)})
        out.append(full)
    return out


class ReasonEncoder:
    """Renders ``[(feature, points_lost), ...]`` to the stored JSON text, fast (a million rows)."""

    def __init__(self):
        self._prefix = {}

    def _head(self, feature: str) -> str:
        if feature not in self._prefix:
            self._prefix[feature] = '{"feature": ' + json.dumps(feature) + ', "points_lost": '
        return self._prefix[feature]

    def dumps(self, reasons) -> str:
        return "[" + ", ".join(self._head(f) + str(int(p)) + "}" for f, p in reasons) + "]"

    def dumps_arrays(self, names: list[str], index: np.ndarray, lost: np.ndarray) -> list[str]:
        """:meth:`dumps` of every row at once, from the scorecard's reason arrays (per row
        the indices into ``names`` and the points lost, largest first; a loss of 0 or less
        is no reason): the same text.

        Scorecard points come in bins, so a chunk has few distinct reason lists: each row's
        list is packed into one integer, and only the distinct ones are rendered."""
        index, lost = np.asarray(index, dtype=np.int64), np.asarray(lost, dtype=np.int64)
        if len(index) == 0:
            return []
        width = index.shape[1]
        if len(names) > 64 or lost.max() >= 4096 or width * 18 > 62:
            return [self._dumps_row(names, i, p) for i, p in zip(index.tolist(), lost.tolist(), strict=True)]
        # Sorted largest first: a slot is a reason while every slot up to it lost points.
        keep = np.cumprod(lost > 0, axis=1).astype(bool)
        packed = np.where(keep, (index << 12) | lost, 0)
        key = np.zeros(len(index), dtype=np.int64)
        for k in range(width):
            key = (key << 18) | packed[:, k]
        distinct, inverse = np.unique(key, return_inverse=True)
        texts = np.empty(len(distinct), dtype=object)
        for pos, value in enumerate(distinct.tolist()):
            slots = [(value >> (18 * (width - 1 - k))) & 0x3FFFF for k in range(width)]
            texts[pos] = self.dumps([(names[v >> 12], v & 0xFFF) for v in slots if v & 0xFFF])
        return texts[inverse.reshape(-1)].tolist()

    def _dumps_row(self, names, row_index, row_lost) -> str:
        parts = []
        for j, points in zip(row_index, row_lost, strict=True):
            if points <= 0:  # sorted largest first: nothing after this one either
                break
            parts.append((names[j], points))
        return self.dumps(parts)


def reason_text(reason: dict, language: str | None = None) -> str:
    """One stored reason in the current (or given) language."""
    lang = (language or translation.get_language() or "en").lower()
    text = reason.get("zh_hans") if lang.startswith("zh") else reason.get("en")
    return text or str(reason_words(reason.get("feature", "")) or reason.get("feature", ""))
