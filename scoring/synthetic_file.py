"""A generated credit data set with mixed column types, for "train from a file" figures and
tests (made here, nothing downloaded): text categories, categories coded as numbers, booleans
written three ways, numbers with sentinels and infinite values, and a default flag.

The default risk depends on the categories non-monotonically (product code 3 and region
"west" are worse, code 5 better), so a scorecard that dropped or mis-read them would lose
most of its power; numbers carry a monotonic signal in their business direction.
"""

import numpy as np
import pandas as pd

SCHEMA = {
    "target": "default",
    "bad_values": ["1"],
    "columns": [
        {"name": "region", "type": "categorical"},
        {"name": "employment", "type": "categorical"},
        {"name": "product_code", "type": "categorical"},
        {"name": "has_guarantor", "type": "categorical"},
        {"name": "owns_home", "type": "categorical"},
        {"name": "income", "type": "numeric", "direction": "higher_better", "special_values": [-1]},
        {"name": "debt_ratio", "type": "numeric", "direction": "higher_worse"},
        {"name": "age", "type": "numeric", "direction": "none", "special_values": [999]},
        {"name": "months_at_address", "type": "numeric", "direction": "higher_better"},
    ],
}


def mixed_credit_frame(*, rows: int = 20000, seed: int = 14) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west", "central"], rows, p=[0.25, 0.25, 0.2, 0.15, 0.15])
    employment = rng.choice(["salaried", "self-employed", "contract", "unemployed"], rows, p=[0.55, 0.25, 0.15, 0.05])
    product = rng.integers(1, 7, rows)  # 1..6, a code, not a quantity
    guarantor = rng.random(rows) < 0.3
    owns = rng.random(rows) < 0.45
    income = np.round(rng.lognormal(9.0, 0.55, rows), 0)
    debt = np.clip(rng.beta(2, 3, rows) * 1.2, 0, None)
    age = rng.integers(20, 70, rows).astype(float)
    months = rng.integers(0, 240, rows).astype(float)
    logit = (
        -2.3
        + np.select([region == "west", region == "central", region == "north"], [0.9, 0.4, -0.3], 0.0)
        + np.select(
            [employment == "unemployed", employment == "contract", employment == "self-employed"], [1.4, 0.6, 0.3], 0
        )
        + np.select([product == 3, product == 5, product == 6], [1.1, -0.8, 0.5], 0.0)
        - 0.7 * guarantor
        - 0.4 * owns
        - 0.9 * (np.log(income) - 9.0)
        + 1.8 * (debt - 0.5)
        + 0.35 * (np.abs(age - 45) / 15)  # no direction: young and old alike
        - 0.003 * months
    )
    default = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "region": region,
            "employment": employment,
            "product_code": product,
            # Booleans as a spreadsheet writes them: TRUE/FALSE, true/false and 1/0 mixed.
            "has_guarantor": np.where(
                rng.random(rows) < 0.5, np.where(guarantor, "TRUE", "FALSE"), np.where(guarantor, "1", "0")
            ),
            "owns_home": np.where(owns, "yes", "no"),
            "income": income,
            "debt_ratio": np.round(debt, 4),
            "age": age,
            "months_at_address": months,
            "default": default,
        }
    )
    # Unknowns as real exports have them: sentinels, infinite ratios, empty cells.
    frame.loc[rng.random(rows) < 0.03, "income"] = -1
    frame.loc[rng.random(rows) < 0.01, "debt_ratio"] = np.inf
    frame.loc[rng.random(rows) < 0.02, "age"] = 999
    frame["months_at_address"] = frame["months_at_address"].astype(object)
    frame.loc[rng.random(rows) < 0.02, "months_at_address"] = ""
    return frame


def mixed_credit_csv(**kwargs) -> bytes:
    return mixed_credit_frame(**kwargs).to_csv(index=False).encode("utf-8")
