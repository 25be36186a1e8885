"""Reason codes: plain-words explanations of the features that cost the most points.

Stored on Score rows (and the application's latest score) as ``{"feature", "points_lost"}``
pairs with the applicant's own bin (``"bin": [low, high]``, ``null`` for an open end) or
category (``"level"``), largest loss first. The words describe that bin ("Monthly revenue
below 31,200", "Debt ratio 70 % or more", "Debt ratio not known"); the code and the words
in each language come from here when they are shown (:func:`reasons_expand`), so a stored
reason stays small and a wording fix reaches old scores too. Rows stored with their texts (the
earlier format) still read.
"""

import json

import numpy as np
from django.utils import translation
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from scoring.features import FEATURES, PERCENT_FEATURES
from scoring.scorecard import _SEP, OTHER, UNKNOWN_REASON, reason_name, reason_split

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
    "product": _("Loan product"),
    "industry": _("Industry"),
    "city_tier": _("City tier"),
}

# Flags (0/1) whose "1" bin is the reason's own text; the "0" bin reads as on file.
FLAG_PRESENT = {
    "credit_score_missing": _("Credit bureau score on file"),
    "financials_missing": _("Financial statements on file"),
}


def number_text(feature: str, value: float) -> str:
    """A bin edge as people read it: ratios as percentages, large numbers with separators."""
    if feature in PERCENT_FEATURES:
        return f"{value * 100:,.4g} %"
    if abs(value) >= 1000:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{value:g}"


def _industry_text(code: str) -> str:
    try:
        from customers.reference import industry_label
    except ImportError:  # pragma: no cover - an older customers app
        return code
    from django.db import DatabaseError

    try:
        return industry_label(code) or code
    except DatabaseError:  # reference tables not there (yet): the code itself
        return code


def _product_text(code: str) -> str:
    """A product's name in the active language (the model sees its code in lower case)."""
    from django.db import DatabaseError

    from loans.models import LoanProduct

    try:
        product = LoanProduct.objects.filter(code__iexact=code).first()
    except DatabaseError:  # pragma: no cover - no products table (a bare scoring run)
        product = None
    return product.display_name if product is not None else code.upper()


def _level_text(feature: str, level: str):
    from customers.models import CityTier

    if level == OTHER:
        return _("other")
    if level == "unknown":
        return _("not known")
    if feature == "industry":
        # Looked up when rendered, in the language active then.
        return lazy(_industry_text, str)(level)
    if feature == "product":
        return lazy(_product_text, str)(level)
    if feature == "city_tier":
        try:
            return dict(CityTier.choices).get(int(level), level)
        except (TypeError, ValueError):
            return level
    return level


def bin_words(feature: str, bounds):
    """The words of a numeric bin ``[low, high)`` of ``feature`` (lazy)."""
    low, high = (list(bounds) + [None, None])[:2]
    if feature in FLAG_PRESENT:
        return REASON_TEXT[feature] if low is not None and low > 0 else FLAG_PRESENT[feature]
    label = FEATURE_LABELS.get(feature, feature)
    if low is None and high is None:
        return label
    if low is None:
        return format_lazy(_("{item} below {high}"), item=label, high=number_text(feature, high))
    if high is None:
        return format_lazy(_("{item} {low} or more"), item=label, low=number_text(feature, low))
    return format_lazy(
        _("{item} from {low} to under {high}"),
        item=label,
        low=number_text(feature, low),
        high=number_text(feature, high),
    )


def _known(feature: str) -> tuple[str, bool]:
    """``(feature, unknown)``: the feature a reason is about, and whether its value was not known."""
    if feature.endswith(UNKNOWN_REASON):
        return feature[: -len(UNKNOWN_REASON)], True
    return feature, False


def reason_words(feature: str):
    """The reason in plain words (lazy: rendered in the active language), or ``None``.
    ``feature`` is a reason key: the feature with the applicant's bin or level
    (:func:`scoring.scorecard.reason_name`), ``<feature>:unknown``, or a bare feature
    (reasons stored before bins were named)."""
    feature, extra = reason_split(feature)
    base, unknown = _known(feature)
    if unknown:
        label = FEATURE_LABELS.get(base)
        if label is None:
            return None
        return format_lazy(_("{item} not known"), item=label)
    # A column of an uploaded data set is called by its header.
    if "bin" in extra:
        return bin_words(base, extra["bin"])
    if "level" in extra:
        label = FEATURE_LABELS.get(base, base)
        return format_lazy(_("{item}: {value}"), item=label, value=_level_text(base, extra["level"]))
    return REASON_TEXT.get(base)


def reason_code(feature: str) -> str:
    """R01..R22 by feature; a value that was not known adds "U" (R10U: debt ratio not known)."""
    base, unknown = _known(reason_split(feature)[0])
    code = REASON_CODES.get(base, "")
    return f"{code}U" if code and unknown else code


def reason_texts(feature: str) -> dict:
    text = reason_words(feature) or reason_split(feature)[0]
    with translation.override("en"):
        en = str(text)
    with translation.override("zh-hans"):
        zh = str(text)
    return {"en": en, "zh_hans": zh}


def reason_dict(feature: str, points_lost: int) -> dict:
    """A reason key and its loss as shown and served: code, feature, the applicant's bin or
    level, points lost and the words in both languages."""
    base, extra = reason_split(feature)
    return {
        "code": reason_code(feature),
        "feature": base,
        **extra,
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
        extra = {k: reason[k] for k in ("bin", "level") if k in reason}
        name = reason_name(reason["feature"], **extra) if extra else reason["feature"]
        full = reason_dict(name, reason.get("points_lost") or 0)
        if reason_words(name) is None:  # a feature we have no words for keeps its stored ones
            full.update({k: reason[k] for k in ("code", "en", "zh_hans") if reason.get(k)})
        out.append(full)
    return out


class ReasonEncoder:
    """Renders ``[(feature, points_lost), ...]`` to the stored JSON text, fast (a million rows)."""

    def __init__(self):
        self._prefix = {}

    def _head(self, name: str) -> str:
        if name not in self._prefix:
            feature, _sep, extra = name.partition(_SEP)
            middle = ", " + extra if extra else ""
            self._prefix[name] = '{"feature": ' + json.dumps(feature) + middle + ', "points_lost": '
        return self._prefix[name]

    def dumps(self, reasons) -> str:
        return "[" + ", ".join(self._head(f) + str(int(p)) + "}" for f, p in reasons) + "]"

    def dumps_arrays(self, names: list[str], index: np.ndarray, lost: np.ndarray) -> list[str]:
        """:meth:`dumps` of every row at once, from the scorecard's reason arrays (per row
        the indices into ``names`` and the points lost, largest first; a loss of 0 or less
        is no reason): the same text.

        Scorecard points come in bins, so a chunk has few distinct reason lists: each row's
        list is packed into one integer (8 bits of reason key, 10 of points per slot), and
        only the distinct ones are rendered."""
        index, lost = np.asarray(index, dtype=np.int64), np.asarray(lost, dtype=np.int64)
        if len(index) == 0:
            return []
        width = index.shape[1]
        if len(names) > 256 or lost.max() >= 1024 or width * 18 > 62:
            return [self._dumps_row(names, i, p) for i, p in zip(index.tolist(), lost.tolist(), strict=True)]
        # Sorted largest first: a slot is a reason while every slot up to it lost points.
        keep = np.cumprod(lost > 0, axis=1).astype(bool)
        packed = np.where(keep, (index << 10) | lost, 0)
        key = np.zeros(len(index), dtype=np.int64)
        for k in range(width):
            key = (key << 18) | packed[:, k]
        distinct, inverse = np.unique(key, return_inverse=True)
        texts = np.empty(len(distinct), dtype=object)
        for pos, value in enumerate(distinct.tolist()):
            slots = [(value >> (18 * (width - 1 - k))) & 0x3FFFF for k in range(width)]
            texts[pos] = self.dumps([(names[v >> 10], v & 0x3FF) for v in slots if v & 0x3FF])
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
