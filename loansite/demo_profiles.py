"""Pure generators of realistic, reproducible business profiles for demo data.

Distributions: industries with their own revenue, margin and foot-traffic levels; cities
in tiers 1-4; log-normal revenues; credit scores tied to a latent creditworthiness. The
latent default model (:func:`default_logit`) is the one real signal every later model
(approval, PD, limit) should recover from the data; it lives here, in one place.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Industry:
    code: str
    weight: float
    revenue_median: float  # monthly, CNY
    cost_ratio: float  # monthly cost / revenue
    traffic_per_10k_revenue: float  # monthly visitors per 10,000 revenue
    risk_offset: float  # added to the default logit


INDUSTRIES = [
    Industry("retail", 0.26, 90_000, 0.78, 55, 0.10),
    Industry("catering", 0.22, 70_000, 0.82, 90, 0.35),
    Industry("wholesale", 0.14, 260_000, 0.86, 6, 0.00),
    Industry("manufacturing", 0.10, 420_000, 0.80, 2, -0.15),
    Industry("services", 0.12, 60_000, 0.70, 25, -0.05),
    Industry("technology", 0.06, 150_000, 0.72, 4, -0.20),
    Industry("agriculture", 0.05, 80_000, 0.83, 3, 0.25),
    Industry("transport", 0.05, 120_000, 0.84, 3, 0.15),
]

# (city, tier)
CITIES = [
    ("Beijing", 1),
    ("Shanghai", 1),
    ("Guangzhou", 1),
    ("Shenzhen", 1),
    ("Hangzhou", 2),
    ("Chengdu", 2),
    ("Wuhan", 2),
    ("Nanjing", 2),
    ("Suzhou", 2),
    ("Xi'an", 2),
    ("Changsha", 2),
    ("Hefei", 3),
    ("Kunming", 3),
    ("Nanning", 3),
    ("Taiyuan", 3),
    ("Lanzhou", 3),
    ("Ganzhou", 4),
    ("Zunyi", 4),
    ("Qujing", 4),
]
CITY_WEIGHTS = np.array([7, 7, 6, 6, 5, 5, 5, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2], dtype=float)
TIER_REVENUE_FACTOR = {1: 1.35, 2: 1.1, 3: 0.9, 4: 0.75}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def customer_profiles(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` business profiles: operations, financials, credit score and latent quality."""
    ind_idx = rng.choice(len(INDUSTRIES), size=n, p=np.array([i.weight for i in INDUSTRIES]))
    city_idx = rng.choice(len(CITIES), size=n, p=CITY_WEIGHTS / CITY_WEIGHTS.sum())
    industry = np.array([INDUSTRIES[i].code for i in ind_idx])
    city = np.array([CITIES[i][0] for i in city_idx])
    tier = np.array([CITIES[i][1] for i in city_idx])
    rev_median = np.array([INDUSTRIES[i].revenue_median for i in ind_idx])
    cost_ratio_base = np.array([INDUSTRIES[i].cost_ratio for i in ind_idx])
    traffic_rate = np.array([INDUSTRIES[i].traffic_per_10k_revenue for i in ind_idx])
    risk_offset = np.array([INDUSTRIES[i].risk_offset for i in ind_idx])

    # Latent creditworthiness: N(0, 1), higher is better. Observables are noisy views of it.
    quality = rng.normal(0, 1, n)
    years = np.clip(np.round(rng.gamma(2.2, 2.6, n) + 0.8 * quality), 0, 40).astype(int)
    revenue = rev_median * np.vectorize(TIER_REVENUE_FACTOR.get)(tier) * rng.lognormal(0.15 * quality, 0.55, n)
    cost_ratio = np.clip(cost_ratio_base - 0.05 * quality + rng.normal(0, 0.07, n), 0.35, 1.25)
    cost = revenue * cost_ratio
    traffic = np.maximum(0, revenue / 10_000 * traffic_rate * rng.lognormal(0, 0.35, n)).round()
    employees = np.maximum(1, np.round(revenue / 25_000 * rng.lognormal(0, 0.4, n))).astype(int)
    area = np.maximum(8, np.round(employees * rng.uniform(6, 18, n)))
    credit_score = np.clip(np.round(650 + 55 * quality + rng.normal(0, 35, n)), 350, 900).astype(int)

    annual_revenue = revenue * 12 * rng.uniform(0.9, 1.1, n)
    net_profit = annual_revenue - cost * 12
    total_assets = annual_revenue * rng.uniform(0.4, 1.4, n)
    debt_ratio = np.clip(0.55 - 0.12 * quality + rng.normal(0, 0.12, n), 0.02, 1.4)
    total_liabilities = total_assets * debt_ratio
    current_assets = total_assets * rng.uniform(0.3, 0.8, n)
    current_ratio = np.clip(1.4 + 0.35 * quality + rng.normal(0, 0.3, n), 0.2, 5)
    current_liabilities = current_assets / current_ratio
    # Some small businesses keep no books: financials unknown.
    no_books = rng.random(n) < 0.18

    df = pd.DataFrame(
        {
            "industry": industry,
            "city": city,
            "city_tier": tier,
            "years_in_business": years,
            "employees": employees,
            "area_m2": area,
            "monthly_revenue": revenue.round(2),
            "monthly_cost": cost.round(2),
            "monthly_foot_traffic": traffic.astype(int),
            "credit_score": credit_score,
            "annual_revenue": np.where(no_books, np.nan, annual_revenue.round(2)),
            "net_profit": np.where(no_books, np.nan, net_profit.round(2)),
            "total_assets": np.where(no_books, np.nan, total_assets.round(2)),
            "total_liabilities": np.where(no_books, np.nan, total_liabilities.round(2)),
            "current_assets": np.where(no_books, np.nan, current_assets.round(2)),
            "current_liabilities": np.where(no_books, np.nan, current_liabilities.round(2)),
            "quality": quality,
            "risk_offset": risk_offset,
        }
    )
    return df


def default_logit(
    *, quality, risk_offset, amount, monthly_revenue, monthly_cost, years_in_business, term_months
) -> np.ndarray:
    """Log-odds of default on a loan: the one ground truth of the demo world."""
    margin = (np.asarray(monthly_revenue) - np.asarray(monthly_cost)) / np.maximum(np.asarray(monthly_revenue), 1)
    burden = np.asarray(amount) / np.maximum(np.asarray(monthly_revenue) * 12, 1)
    return (
        -2.3
        - 0.95 * np.asarray(quality)
        + np.asarray(risk_offset)
        + 1.6 * np.clip(burden, 0, 3)
        - 2.0 * np.clip(margin, -0.5, 0.6)
        - 0.04 * np.clip(np.asarray(years_in_business), 0, 20)
        + 0.012 * np.asarray(term_months)
    )


def application_profiles(rng: np.random.Generator, customers: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` loan requests by the given customers (row positions in ``customer``), with the
    true default probability, whether the loan would default, and an experienced
    officer's decision (mostly right, sometimes not)."""
    who = rng.integers(0, len(customers), n)
    c = customers.iloc[who].reset_index(drop=True)
    amount = np.clip(
        np.round(c["monthly_revenue"].to_numpy() * rng.lognormal(np.log(2.5), 0.6, n), -3), 10_000, 3_000_000
    )
    term = rng.choice([3, 6, 12, 18, 24, 36], size=n, p=[0.08, 0.2, 0.35, 0.12, 0.17, 0.08])
    logit = default_logit(
        quality=c["quality"],
        risk_offset=c["risk_offset"],
        amount=amount,
        monthly_revenue=c["monthly_revenue"],
        monthly_cost=c["monthly_cost"],
        years_in_business=c["years_in_business"],
        term_months=term,
    )
    pd_true = _sigmoid(logit)
    defaults = rng.random(n) < pd_true
    # The officer sees a noisy version of the risk and approves below a cut-off.
    judged = logit + rng.normal(0, 0.8, n)
    approved = judged < np.quantile(judged, 0.62)
    days_ago = rng.uniform(0, 365, n)
    return pd.DataFrame(
        {
            "customer_pos": who,
            "amount": amount,
            "term_months": term,
            "pd_true": pd_true,
            "defaults": defaults,
            "approved": approved,
            "days_ago": days_ago,
        }
    )
