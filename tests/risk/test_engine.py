"""The pure engine: each default rule at its boundary, the level thresholds, versions."""

import importlib
from decimal import Decimal

import pytest

from risk.engine import (
    Activity,
    Context,
    RuleDef,
    RuleError,
    Thresholds,
    event_score,
    level_of,
    rule_compile,
    rules_compile,
)

SEED = importlib.import_module("risk.migrations.0002_default_rules")
T0 = 1_800_000_000  # an arbitrary instant, in epoch seconds


def default_rules(*, version: int = 1) -> list[RuleDef]:
    return [
        RuleDef(code, version, kind, params, points)
        for code, _name, kind, params, points, enabled in SEED.RULES
        if enabled and kind in {"amount_threshold", "velocity", "flagged_device", "geo_velocity"}
    ]


@pytest.fixture
def rules():
    return rules_compile(default_rules(), Thresholds(**SEED.THRESHOLDS))


def tx(at=T0, amount="100.00", **kw) -> Activity:
    return Activity("transaction", at, Decimal(amount), **kw)


def login(at=T0, **kw) -> Activity:
    return Activity("login", at, None, **kw)


def test_the_seed_defaults_are_the_issue_s():
    enabled = {code: (kind, params, points) for code, _n, kind, params, points, on in SEED.RULES if on}
    assert enabled["large_amount"] == ("amount_threshold", {"min_amount": "10000.00"}, 50)
    assert enabled["velocity_10min"][2] == 30
    assert enabled["velocity_10min"][1]["count"] == 5 and enabled["velocity_10min"][1]["window_seconds"] == 600
    assert enabled["flagged_device"][2] == 20
    assert enabled["geo_velocity"][2] == 40
    assert SEED.THRESHOLDS == {"medium": 40, "high": 80}


@pytest.mark.parametrize(("amount", "hit"), [("9999.99", False), ("10000.00", True), ("10000.01", True)])
def test_large_amount_boundary(rules, amount, hit):
    result = event_score(tx(amount=amount), Context(), rules)
    assert ("large_amount" in result.codes) is hit
    assert result.score == (50 if hit else 0)
    assert result.level == ("medium" if hit else "low")


def test_velocity_the_fifth_in_the_window_hits_the_fourth_does_not(rules):
    earlier = [tx(at=T0 - 60 * i) for i in (4, 3, 2, 1)]
    fourth = event_score(tx(), Context(customer_events=earlier[1:]), rules)
    fifth = event_score(tx(), Context(customer_events=earlier), rules)
    assert "velocity_10min" not in fourth.codes
    assert "velocity_10min" in fifth.codes and fifth.score == 30


@pytest.mark.parametrize(("seconds_before", "hit"), [(600, True), (601, False)])
def test_velocity_window_edge_to_the_second(rules, seconds_before, hit):
    # Three events just now and one at the edge of the 10-minute window.
    earlier = [tx(at=T0 - seconds_before), tx(at=T0 - 3), tx(at=T0 - 2), tx(at=T0 - 1)]
    result = event_score(tx(), Context(customer_events=earlier), rules)
    assert ("velocity_10min" in result.codes) is hit


def test_velocity_counts_transactions_only(rules):
    earlier = [tx(at=T0 - 4), login(at=T0 - 3), tx(at=T0 - 2), tx(at=T0 - 1)]
    assert "velocity_10min" not in event_score(tx(), Context(customer_events=earlier), rules).codes


def test_flagged_device(rules):
    assert event_score(tx(device="fp1"), Context(device_flagged=True), rules).codes == ["flagged_device"]
    assert event_score(tx(device="fp1"), Context(device_flagged=False), rules).codes == []
    assert event_score(tx(device=""), Context(device_flagged=True), rules).codes == []


@pytest.mark.parametrize(("seconds_before", "hit"), [(3599, True), (3600, True), (3601, False)])
def test_geo_velocity_two_cities_inside_and_outside_the_window(rules, seconds_before, hit):
    earlier = [login(at=T0 - seconds_before, city="Hangzhou")]
    result = event_score(login(city="Urumqi"), Context(customer_events=earlier), rules)
    assert ("geo_velocity" in result.codes) is hit
    assert result.score == (40 if hit else 0)


def test_geo_velocity_same_city_or_unknown_city_never_hits(rules):
    earlier = [login(at=T0 - 10, city="Hangzhou"), login(at=T0 - 5, city="")]
    assert event_score(login(city="Hangzhou"), Context(customer_events=earlier), rules).codes == []
    assert event_score(login(city=""), Context(customer_events=earlier), rules).codes == []


@pytest.mark.parametrize(
    ("score", "level"), [(0, "low"), (39, "low"), (40, "medium"), (79, "medium"), (80, "high"), (500, "high")]
)
def test_level_thresholds(score, level):
    assert level_of(score, Thresholds(40, 80)) == level


def test_thresholds_are_data():
    assert level_of(39, Thresholds(30, 60)) == "medium"
    assert level_of(60, Thresholds(30, 60)) == "high"
    with pytest.raises(ValueError):
        Thresholds(80, 40)


def test_points_add_up_to_the_level(rules):
    # Large amount (50) + geo-velocity (40) = 90: high.
    result = event_score(
        tx(amount="20000", city="Beijing"), Context(customer_events=[tx(at=T0 - 30, city="Shanghai")]), rules
    )
    assert result.score == 90 and result.level == "high"
    assert [hit.code for hit in result.hits] == ["geo_velocity", "large_amount"]


def test_each_result_records_the_versions_of_every_rule_run():
    ruleset = rules_compile(default_rules(version=3), Thresholds(40, 80))
    result = event_score(tx(), Context(), ruleset)
    assert result.versions == {
        "flagged_device": 3,
        "geo_velocity": 3,
        "large_amount": 3,
        "velocity_10min": 3,
        "_levels": [40, 80],
    }
    hit = event_score(tx(amount="10000"), Context(), ruleset).hits[0]
    assert (hit.code, hit.version, hit.points) == ("large_amount", 3, 50)


def test_other_kinds():
    night = rule_compile(RuleDef("n", 1, "night_time", {"start": "23:00", "end": "05:00"}, 10))
    assert night.check(tx(local_minute=23 * 60), Context()) is not None
    assert night.check(tx(local_minute=4 * 60 + 59), Context()) is not None
    assert night.check(tx(local_minute=5 * 60), Context()) is None
    new = rule_compile(RuleDef("d", 1, "new_device", {}, 10))
    assert new.check(tx(device="x"), Context(device_known=False)) is not None
    assert new.check(tx(device="x"), Context(device_known=True)) is None
    watch = rule_compile(RuleDef("w", 1, "watch_list", {"match": ["counterparty"]}, 60))
    assert watch.check(tx(), Context(counterparty_watched=True)) is not None
    assert watch.check(tx(), Context(customer_watched=True)) is None
    per_device = rule_compile(RuleDef("v", 1, "velocity", {"count": 2, "window_seconds": 60, "per": "device"}, 10))
    assert per_device.check(tx(device="x"), Context(device_events=[tx(at=T0 - 60, device="x")])) is not None
    assert per_device.check(tx(device="x"), Context(customer_events=[tx(at=T0 - 1)])) is None


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("amount_threshold", {"min_amount": "abc"}, "min_amount"),
        ("amount_threshold", {"min_amount": -1}, "min_amount"),
        ("velocity", {"count": 5}, "window_seconds"),
        ("velocity", {"count": 1.5, "window_seconds": 60}, "count"),
        ("velocity", {"count": 5, "window_seconds": 60, "per": "planet"}, "per"),
        ("geo_velocity", {"window_seconds": 0}, "window_seconds"),
        ("night_time", {"start": "25:00"}, "start"),
        ("watch_list", {"match": ["moon"]}, "match"),
        ("pd_rise", {}, "kind"),
    ],
)
def test_bad_parameters_are_named(kind, params, field):
    with pytest.raises(RuleError) as caught:
        rule_compile(RuleDef("r", 1, kind, params, 10))
    assert field in caught.value.errors
