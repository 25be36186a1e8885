"""Reading the reference data: cities with their tiers and industries (GB/T 4754 sections).

Forms, imports, filters, matching and the demo ask here; nothing reads the demo's lists.
Customers and managers store a city's English name and an industry's code; a value may be
given in any of the names a person would type (``无锡``, ``无锡市``, ``Wuxi``, ``320200``).
"""

from dataclasses import dataclass

from django.utils import translation

from customers.models import CITY_TIER_DEFAULT, City, Industry
from loansite.process_copy import VersionedCopy


@dataclass(frozen=True)
class CityRef:
    value: str  # what a customer stores: the English name
    tier: int
    short_name: str
    active: bool


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def city_choices(*, include: str | None = None) -> list[tuple[str, str]]:
    """Active cities as (stored value, label in the current language), by province then code.

    ``include``: a stored value kept in the list even when it is no longer active (an edit
    must not lose a customer's city)."""
    chinese = _chinese()
    copy = reference_copy()
    if include is None or include in copy["city_active"]:
        # The active cities, labelled once per language per version of the reference data.
        key = ("city_choices", chinese)
        if key not in copy:
            copy[key] = _city_labels(
                ((c.name_en, c.name, c.short_name, c.province, c.province_en) for c in copy["cities"] if c.active),
                chinese,
            )
        return list(copy[key])
    rows = City.objects.filter(active=True) | City.objects.filter(name_en=include)
    return _city_labels(
        rows.order_by("code").values_list("name_en", "name", "short_name", "province", "province_en"), chinese
    )


def _city_labels(rows, chinese: bool) -> list[tuple[str, str]]:
    choices = []
    for name_en, name, short, province, province_en in rows:
        if name == province or not province:  # a municipality (北京市) is its own province
            choices.append((name_en, short if chinese else name_en))
        else:
            choices.append((name_en, f"{short} · {province}" if chinese else f"{name_en}, {province_en}"))
    return choices


def city_lookup(*, active_only: bool = True) -> dict[str, CityRef]:
    """Every way of naming a city (English, Chinese with and without 市, code; any case) -> the city."""
    query = City.objects.all() if not active_only else City.objects.filter(active=True)
    found: dict[str, CityRef] = {}
    for code, name, short, name_en, tier, active in query.values_list(
        "code", "name", "short_name", "name_en", "tier", "active"
    ):
        ref = CityRef(value=name_en, tier=tier, short_name=short, active=active)
        for key in (code, name, short, name_en, name_en.replace("'", "")):
            found.setdefault(key.strip().lower(), ref)
    return found


def city_find(value, *, active_only: bool = True) -> CityRef | None:
    """The city named by ``value`` (see :func:`city_lookup`), or ``None``."""
    text = str(value or "").strip()
    if not text:
        return None
    found = reference_copy()["city_find" if active_only else "city_find_all"]
    # The English name (any case) first, then the Chinese short name, the full name, the code.
    return (
        found["name_en"].get(text.lower())
        or found["short_name"].get(text)
        or found["name"].get(text)
        or found["code"].get(text)
    )


def city_tier_of(value) -> int:
    """The tier of the city named by ``value``; the default tier for a city not on file."""
    found = city_find(value, active_only=False)
    return found.tier if found is not None else int(CITY_TIER_DEFAULT)


def city_tier_map() -> dict[str, int]:
    """Stored city value -> tier, for every city on file."""
    return dict(City.objects.values_list("name_en", "tier"))


def city_label(value) -> str:
    """A stored city value as shown in the current language (``无锡`` / ``Wuxi``)."""
    if not value:
        return ""
    if not _chinese():
        return str(value)
    return _labels("city").get(value) or str(value)


def industry_choices(*, include: str | None = None) -> list[tuple[str, str]]:
    """Active industries as (code, label in the current language), by GB/T 4754 section."""
    chinese = _chinese()
    copy = reference_copy()
    if include and include not in copy["industry_active"]:
        rows = Industry.objects.filter(active=True) | Industry.objects.filter(code=include)
        return _industry_labels(
            rows.order_by("section__code", "code").values_list("code", "name", "name_en", "section__code"),
            chinese,
        )
    key = ("industry_choices", chinese)
    if key not in copy:
        copy[key] = _industry_labels((row[:4] for row in copy["industries"] if row[4]), chinese)
    return list(copy[key])


def _industry_labels(rows, chinese: bool) -> list[tuple[str, str]]:
    return [
        (code, f"{name}（{section}）" if chinese else f"{name_en} ({section})") for code, name, name_en, section in rows
    ]


def industry_lookup(*, active_only: bool = True) -> dict[str, str]:
    """Every way of naming an industry (code, English and Chinese names) -> its code."""
    query = Industry.objects.all() if not active_only else Industry.objects.filter(active=True)
    found: dict[str, str] = {}
    for code, name, name_en in query.values_list("code", "name", "name_en"):
        for key in (code, name, name_en):
            found.setdefault(key.strip().lower(), code)
        # 零售 and 零售业, 建筑业 and 建筑: both are how people write an industry.
        found.setdefault(f"{name}业" if not name.endswith("业") else name[:-1], code)
    return found


def industry_label(code) -> str:
    """An industry code as shown in the current language."""
    if not code:
        return ""
    return _labels("industry_zh" if _chinese() else "industry_en").get(code) or str(code)


def industry_section_map() -> dict[str, str]:
    """Industry code -> GB/T 4754 section letter."""
    return dict(Industry.objects.values_list("code", "section__code"))


# Imports parse a cell at a time: they read the lookups from a per-process copy that is
# dropped when a city or industry is saved here (customers.apps connects the signal) and
# at most LOOKUP_TTL seconds after an edit made by another process.
LOOKUP_TTL = 30.0
_lookups: dict = {}


def reference_lookups() -> dict:
    """``{"city": city_lookup(), "industry": industry_lookup(), "tier": city_tier_map()}``, cached."""
    import time

    now = time.monotonic()
    if not _lookups or now - _lookups["at"] > LOOKUP_TTL:
        _lookups.clear()
        _lookups.update(
            at=now,
            city=city_lookup(),
            industry=industry_lookup(),
            tier=city_tier_map(),
        )
    return _lookups


def reference_lookups_clear(**_kwargs) -> None:
    _lookups.clear()
    _label_maps.clear()


# The public form and the customer services read the cities and industries on every request
# (the form's choices, its validation, the services' reference checks): they read a copy held
# by each process (``loansite.process_copy``) instead of the tables. Saving or deleting a city
# or an industry makes every process read the tables again (customers.apps connects
# ``reference_changed``); so does a change written without signals once ``reference_changed()``
# is called.
def _reference_load() -> dict:
    cities = [
        CityRow(*row)
        for row in City.objects.order_by("code").values_list(
            "code", "name", "short_name", "name_en", "province", "province_en", "tier", "active"
        )
    ]
    industries = list(
        Industry.objects.order_by("section__code", "code").values_list(
            "code", "name", "name_en", "section__code", "active"
        )
    )
    return {
        "cities": cities,
        "industries": industries,
        "city_active": {c.name_en for c in cities if c.active},
        "industry_active": {row[0] for row in industries if row[4]},
        "city_find": _city_finder([c for c in cities if c.active]),
        "city_find_all": _city_finder(cities),
    }


_reference = VersionedCopy("customers:reference", _reference_load)
reference_copy = _reference.get


def reference_changed(**_kwargs) -> None:
    """A city or industry was saved or deleted: every process's copies are out of date."""
    reference_lookups_clear()
    _reference.changed()


@dataclass(frozen=True)
class CityRow:
    code: str
    name: str
    short_name: str
    name_en: str
    province: str
    province_en: str
    tier: int
    active: bool


def _city_finder(cities: list[CityRow]) -> dict[str, dict[str, CityRef]]:
    """Look-ups by each way :func:`city_find` names a city; the first city by code wins a name."""
    found: dict[str, dict[str, CityRef]] = {"name_en": {}, "short_name": {}, "name": {}, "code": {}}
    for c in cities:
        ref = CityRef(value=c.name_en, tier=c.tier, short_name=c.short_name, active=c.active)
        found["name_en"].setdefault(c.name_en.lower(), ref)
        found["short_name"].setdefault(c.short_name, ref)
        found["name"].setdefault(c.name, ref)
        found["code"].setdefault(c.code, ref)
    return found


_label_maps: dict = {}


def _labels(kind: str) -> dict:
    """Value -> label maps for lists and exports (one query per kind, cached like the lookups)."""
    import time

    now = time.monotonic()
    if _label_maps.get("at") is None or now - _label_maps["at"] > LOOKUP_TTL:
        _label_maps.clear()
        _label_maps["at"] = now
    if kind not in _label_maps:
        if kind == "city":
            _label_maps[kind] = dict(City.objects.values_list("name_en", "short_name"))
        elif kind == "industry_zh":
            _label_maps[kind] = dict(Industry.objects.values_list("code", "name"))
        else:
            _label_maps[kind] = dict(Industry.objects.values_list("code", "name_en"))
    return _label_maps[kind]
