"""The rules in force are kept per process: a change made here counts at the next call, one made
by another process (the shared stamp moved) within RULES_STAMP_EVERY seconds."""

import pytest
from django.core.cache import cache

from risk import selectors
from risk.models import RiskRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: now[0])
    selectors.ruleset_forget()
    yield now
    selectors.ruleset_forget()


def _points(code: str) -> int | None:
    rule = next((r for r in selectors.ruleset_cached().rules if r.code == code), None)
    return rule.points if rule else None


def test_a_change_by_another_process_counts_within_a_second(clock):
    before = _points("large_amount")
    assert before == 50
    # Another process edits the rule and moves the stamp.
    RiskRule.objects.filter(code="large_amount").update(points=70)
    cache.set(selectors.RULES_STAMP_KEY, "moved-elsewhere", None)
    clock[0] += selectors.RULES_STAMP_EVERY / 2
    assert _points("large_amount") == 50  # the stamp is not read again yet
    clock[0] += selectors.RULES_STAMP_EVERY
    assert _points("large_amount") == 70


def test_a_change_made_here_counts_at_once(clock):
    assert _points("large_amount") == 50
    RiskRule.objects.filter(code="large_amount").update(points=60)
    selectors.rules_changed()
    assert _points("large_amount") == 60
