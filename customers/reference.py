"""Reading the reference data: cities with their tiers and industries (GB/T 4754 sections).

Forms, imports, filters, matching and the demo ask here; nothing reads the demo's lists.
Customers and managers store a city's English name and an industry's code; a value may be
given in any of the names a person would type (``无锡``, ``无锡市``, ``Wuxi``, ``320200``).
"""

from dataclasses import dataclass

from django.utils import translation

from customers.models import CITY_TIER_DEFAULT, City, Industry


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
    rows = (
        City.objects.filter(active=True)
        if include is None
        else City.objects.filter(active=True) | City.objects.filter(name_en=include)
    )
    chinese = _chinese()
    choices = []
    for name_en, name, short, province, province_en in rows.order_by("code").values_list(
        "name_en", "name", "short_name", "province", "province_en"
    ):
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
    query = City.objects.filter(active=True) if active_only else City.objects.all()
    row = (
        query.filter(name_en__iexact=text).first()
        or query.filter(short_name=text).first()
        or query.filter(name=text).first()
        or query.filter(code=text).first()
    )
    if row is None:
        return None
    return CityRef(value=row.name_en, tier=row.tier, short_name=row.short_name, active=row.active)


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
    rows = Industry.objects.filter(active=True)
    if include:
        rows = rows | Industry.objects.filter(code=include)
    chinese = _chinese()
    return [
        (code, f"{name}（{section}）" if chinese else f"{name_en} ({section})")
        for code, name, name_en, section in rows.order_by("section__code", "code").values_list(
            "code", "name", "name_en", "section__code"
        )
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
