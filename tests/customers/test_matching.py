"""The pure matching maths: scores, optimal vs greedy, both solver paths, capacity."""

import numpy as np
import pytest

from customers import matching


def test_optimal_beats_greedy_on_a_crafted_case():
    # Customer 0 is good with both managers; customer 1 only with manager 0.
    # Greedy gives customer 0 its favourite (manager 0) and strands customer 1.
    scores = np.array([[90.0, 80.0], [85.0, 10.0]])
    free = [1, 1]
    greedy = matching.assign_greedy(scores, free)
    optimal = matching.assign_optimal(scores, free)
    assert greedy.tolist() == [0, 1]
    assert optimal.tolist() == [1, 0]
    assert matching.assignment_total(scores, greedy) == 100.0
    assert matching.assignment_total(scores, optimal) == 165.0


def test_capacity_is_never_exceeded_and_short_capacity_leaves_cheapest_out():
    rng = np.random.default_rng(3)
    scores = rng.uniform(0, 100, size=(40, 4))
    free = np.array([5, 10, 0, 8])
    choice = matching.assign_optimal(scores, free)
    counts = np.bincount(choice[choice >= 0], minlength=4)
    assert (counts <= free).all()
    assert (choice >= 0).sum() == free.sum()


def test_profile_path_gives_the_same_optimum_as_slot_assignment(monkeypatch):
    rng = np.random.default_rng(11)
    # 300 customers of 12 profiles, 6 managers with 40 free slots each (slots short: 240 < 300).
    profiles = rng.uniform(0, 100, size=(12, 6)).round(2)
    scores = profiles[rng.integers(0, 12, 300)]
    free = np.full(6, 40)
    dense = matching.assign_optimal(scores, free)
    monkeypatch.setattr(matching, "DENSE_CELL_LIMIT", 0)
    by_profiles = matching.assign_optimal(scores, free)
    assert matching.assignment_total(scores, by_profiles) == pytest.approx(matching.assignment_total(scores, dense))
    assert (np.bincount(by_profiles[by_profiles >= 0], minlength=6) <= free).all()
    assert (by_profiles >= 0).sum() == 240


def _book():
    customers = matching.Customers(
        ids=np.array([1, 2]),
        industry=np.array(["retail", "manufacturing"], dtype=object),
        city=np.array(["Hangzhou", "Shenzhen"], dtype=object),
        tier=np.array([2, 1]),
        value_band=np.array([0, 4]),
    )
    managers = matching.Managers(
        ids=np.array([10, 20]),
        city=np.array(["Hangzhou", "Guangzhou"], dtype=object),
        tier=np.array([2, 1]),
        industries=[{"retail"}, {"manufacturing", "wholesale"}],
        seniority=np.array([1, 4]),
        capacity=np.array([10, 10]),
        load=np.array([5, 0]),
        book_quality=np.array([0.75, 0.5]),
    )
    return customers, managers


def test_components_are_explainable():
    customers, managers = _book()
    components = matching.score_components(customers, managers)
    assert components["industry"].tolist() == [[1, 0], [0, 1]]
    assert components["city"].tolist() == [[1, 0], [0, matching.SAME_TIER_CITY]]
    assert components["workload"][:, 0].tolist() == [0.5, 0.5]
    assert components["value_fit"].tolist() == [[1, 0], [0, 1]]
    scores = matching.total_score(components)
    breakdown = matching.explain(components, 0, 0)
    assert sum(part["points"] for part in breakdown.values()) == pytest.approx(scores[0, 0], abs=0.05)
    assert breakdown["industry"] == {"value": 1.0, "weight": 0.35, "points": 35.0}


def test_value_bands_split_by_quantile():
    bands = matching.value_bands([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert bands.min() == 0 and bands.max() == matching.VALUE_BANDS - 1
    assert list(bands) == sorted(bands)
    assert matching.value_bands([]).size == 0


def test_nothing_to_assign():
    assert matching.assign_optimal(np.zeros((0, 3)), [1, 1, 1]).size == 0
    assert matching.assign_optimal(np.ones((3, 2)), [0, 0]).tolist() == [-1, -1, -1]


def test_profile_grouping_falls_back_when_keys_collide(monkeypatch):
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])

    class SameKey:
        def random(self, size):
            return np.ones(size)  # [1, 0] and [0, 1] get the same key

    monkeypatch.setattr(matching.np.random, "default_rng", lambda seed: SameKey())
    profiles, inverse, counts = matching._profiles(rows)
    assert len(profiles) == 2 and sorted(counts.tolist()) == [1, 2]
    assert np.array_equal(profiles[inverse], rows)
