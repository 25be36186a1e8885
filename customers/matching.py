"""Customer-to-manager matching: explainable scores and an optimal capacity-bound assignment.

Pure functions over plain arrays and DataFrames (no database).

Score of customer *c* with manager *m* (0-100) is a weighted sum of components in [0, 1]:

- ``industry``: the customer's industry is among the manager's industries of expertise;
- ``city``: same city (1), else same city tier (0.4), else 0;
- ``workload``: the manager's free share of capacity before the run;
- ``value_fit``: 1 - |customer value band - manager seniority| (big customers to senior managers);
- ``book_quality``: average internal rating of the manager's current book (0.5 with no rated book).

The assignment maximises the total score subject to each manager's free capacity: an
assignment problem over capacity slots solved by ``scipy.optimize.linear_sum_assignment``.
Large books are first collapsed to customer *profiles* (identical score rows): the problem
becomes a transportation problem with integral optimal vertices, solved exactly by the HiGHS
LP solver, then expanded back to customers. Both paths give the same optimal total.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import coo_matrix

WEIGHTS = {"industry": 0.35, "city": 0.25, "workload": 0.15, "value_fit": 0.15, "book_quality": 0.10}
COMPONENTS = tuple(WEIGHTS)
SAME_TIER_CITY = 0.4
VALUE_BANDS = 5
# Above this many customer x slot cells, solve the profile transportation problem instead.
DENSE_CELL_LIMIT = 4_000_000


@dataclass
class Managers:
    """Manager features, aligned arrays (one entry per manager)."""

    ids: np.ndarray
    city: np.ndarray
    tier: np.ndarray  # the manager's city tier (0 when unknown)
    industries: list[set]
    seniority: np.ndarray  # 1-4
    capacity: np.ndarray
    load: np.ndarray  # current customers
    book_quality: np.ndarray  # 0-1

    @property
    def free(self) -> np.ndarray:
        return np.maximum(self.capacity - self.load, 0)


@dataclass
class Customers:
    ids: np.ndarray
    industry: np.ndarray
    city: np.ndarray
    tier: np.ndarray
    value_band: np.ndarray  # 0 .. VALUE_BANDS - 1


def value_bands(values, bands: int = VALUE_BANDS) -> np.ndarray:
    """Quantile band of each customer's value (monthly revenue) within the book: 0 (small) .. bands-1."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=int)
    ranks = pd.Series(values).rank(method="average", pct=True).to_numpy()
    return np.minimum((ranks * bands).astype(int), bands - 1)


def score_components(customers: Customers, managers: Managers) -> dict[str, np.ndarray]:
    """Each component as an (n_customers, n_managers) array in [0, 1]."""
    n, m = len(customers.ids), len(managers.ids)
    industry = np.zeros((n, m))
    for j, expertise in enumerate(managers.industries):
        industry[:, j] = np.isin(customers.industry, list(expertise))
    same_city = customers.city[:, None] == managers.city[None, :]
    same_tier = (customers.tier[:, None] == managers.tier[None, :]) & (managers.tier[None, :] > 0)
    city = np.where(same_city, 1.0, np.where(same_tier, SAME_TIER_CITY, 0.0))
    capacity = np.maximum(managers.capacity, 1)
    workload = np.broadcast_to(managers.free / capacity, (n, m))
    value = customers.value_band / max(VALUE_BANDS - 1, 1)
    seniority = (np.clip(managers.seniority, 1, 4) - 1) / 3
    value_fit = 1 - np.abs(value[:, None] - seniority[None, :])
    book = np.broadcast_to(np.clip(managers.book_quality, 0, 1), (n, m))
    return {"industry": industry, "city": city, "workload": workload, "value_fit": value_fit, "book_quality": book}


def total_score(components: dict[str, np.ndarray]) -> np.ndarray:
    """Weighted sum, 0-100."""
    return 100 * sum(WEIGHTS[name] * np.asarray(components[name]) for name in COMPONENTS)


def explain(components: dict[str, np.ndarray], i: int, j: int) -> dict:
    """The breakdown stored with an assignment: each component's value, weight and points."""
    return {
        name: {
            "value": round(float(components[name][i, j]), 4),
            "weight": WEIGHTS[name],
            "points": round(100 * WEIGHTS[name] * float(components[name][i, j]), 2),
        }
        for name in COMPONENTS
    }


def _slots(free: np.ndarray) -> np.ndarray:
    """Manager index of each capacity slot."""
    return np.repeat(np.arange(len(free)), free.astype(int))


def assign_optimal(scores: np.ndarray, free) -> np.ndarray:
    """Manager index per customer (-1 = left unassigned) maximising the total score.

    At most ``free[j]`` customers go to manager ``j``; when capacity is short, the
    customers left out are those whose absence costs least.
    """
    scores = np.asarray(scores, dtype=float)
    free = np.asarray(free, dtype=int)
    n = scores.shape[0]
    result = np.full(n, -1, dtype=int)
    if n == 0 or free.sum() == 0:
        return result
    free = np.minimum(free, n)  # no manager can take more than every customer
    if n * int(free.sum()) <= DENSE_CELL_LIMIT:
        slot_manager = _slots(free)
        rows, cols = linear_sum_assignment(scores[:, slot_manager], maximize=True)
        result[rows] = slot_manager[cols]
        return result
    return _assign_by_profiles(scores, free)


def _profiles(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows, each row's profile index and the counts. Groups by a random projection
    (fast), then checks that every row equals its group's representative; if two different
    rows ever shared a key, falls back to the exact (slower) ``np.unique`` over rows."""
    key = rows @ np.random.default_rng(0).random(rows.shape[1])
    _keys, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    if np.array_equal(rows[first][inverse], rows):
        return rows[first], inverse, counts
    profiles, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return profiles, inverse.ravel(), counts


def _assign_by_profiles(scores: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Same optimum as the slot assignment: customers with identical score rows are interchangeable."""
    n, m = scores.shape
    profiles, inverse, counts = _profiles(np.round(scores, 9))
    p = len(profiles)
    # Variables x[k, j] >= 0: customers of profile k given to manager j. Maximise sum s*x.
    k_index = np.repeat(np.arange(p), m)
    j_index = np.tile(np.arange(m), p)
    var = np.arange(p * m)
    rows = np.concatenate([k_index, p + j_index])
    a_ub = coo_matrix((np.ones(2 * p * m), (rows, np.concatenate([var, var]))), shape=(p + m, p * m)).tocsr()
    b_ub = np.concatenate([counts, free]).astype(float)
    solution = linprog(-profiles.ravel(), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if solution.status != 0:  # pragma: no cover - the problem is always feasible (x = 0)
        raise RuntimeError(f"matching LP failed: {solution.message}")
    flow = np.rint(solution.x).astype(int).reshape(p, m)
    result = np.full(n, -1, dtype=int)
    members = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    for k in range(p):
        who = members[starts[k] : starts[k + 1]]
        give = np.repeat(np.arange(m), flow[k])
        result[who[: len(give)]] = give
    return result


def assign_greedy(scores: np.ndarray, free) -> np.ndarray:
    """The plain way: each customer in turn takes their best manager with room left."""
    scores = np.asarray(scores, dtype=float)
    room = np.asarray(free, dtype=int).copy()
    result = np.full(scores.shape[0], -1, dtype=int)
    for i in range(scores.shape[0]):
        order = np.argsort(-scores[i], kind="stable")
        for j in order:
            if room[j] > 0:
                result[i] = j
                room[j] -= 1
                break
    return result


def assignment_total(scores: np.ndarray, choice: np.ndarray) -> float:
    chosen = choice >= 0
    return float(np.asarray(scores)[np.flatnonzero(chosen), choice[chosen]].sum())
