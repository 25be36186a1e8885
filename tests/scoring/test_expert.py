"""The expert scorecard: the working-capital seed's worked example, band edges and levels."""

from decimal import Decimal as D

import pytest

from scoring.expert import Band, ExpertConfig, Level, expert_config_errors, expert_score
from scoring.selectors_decision import expert_config_active


@pytest.fixture
def seed(db):
    """The scorecard the migration installs (what the admin shows and edits)."""
    config = expert_config_active()
    assert config is not None
    return config


def test_the_seeds_worked_example_gives_three_and_medium(seed):
    result = expert_score(seed, {"debt_ratio": D("0.60"), "current_ratio": D("1.5"), "net_margin": D("0.08")})
    assert result.score == D("3.00")
    assert (result.level, result.rating) == ("medium", "C")
    assert sorted((line.indicator, line.points, line.weight) for line in result.lines) == [
        ("current_ratio", D("3"), D("0.2")),
        ("debt_ratio", D("3"), D("0.3")),
        ("net_margin", D("3"), D("0.5")),
    ]


@pytest.mark.parametrize(
    ("indicator", "value", "points"),
    [
        # debt ratio: < 50 % -> 5, 50-70 % -> 3 (both edges), > 70 % -> 1
        ("debt_ratio", "0.4999", 5),
        ("debt_ratio", "0.5", 3),
        ("debt_ratio", "0.7", 3),
        ("debt_ratio", "0.7001", 1),
        # current ratio: > 2 -> 5, 1-2 -> 3 (both edges), < 1 -> 1
        ("current_ratio", "2.0001", 5),
        ("current_ratio", "2", 3),
        ("current_ratio", "1", 3),
        ("current_ratio", "0.9999", 1),
        # net margin: > 10 % -> 5, 5-10 % -> 3 (both edges), < 5 % -> 1
        ("net_margin", "0.1001", 5),
        ("net_margin", "0.1", 3),
        ("net_margin", "0.05", 3),
        ("net_margin", "0.0499", 1),
        ("net_margin", "-0.2", 1),
    ],
)
def test_band_edges(seed, indicator, value, points):
    values = {"debt_ratio": D("0.6"), "current_ratio": D("1.5"), "net_margin": D("0.08"), indicator: D(value)}
    line = next(line for line in expert_score(seed, values).lines if line.indicator == indicator)
    assert line.points == D(points)


@pytest.mark.parametrize(
    ("values", "score", "level", "rating"),
    [
        ({"debt_ratio": "0.3", "current_ratio": "3", "net_margin": "0.2"}, "5.00", "low", "A"),
        # 0.3*5 + 0.2*5 + 0.5*3 = 4.0: the lower edge of B
        ({"debt_ratio": "0.3", "current_ratio": "3", "net_margin": "0.08"}, "4.00", "low", "B"),
        # 0.3*1 + 0.2*5 + 0.5*3 = 2.8
        ({"debt_ratio": "0.8", "current_ratio": "3", "net_margin": "0.08"}, "2.80", "medium", "C"),
        # 0.3*3 + 0.2*3 + 0.5*1 = 2.0
        ({"debt_ratio": "0.6", "current_ratio": "1.5", "net_margin": "0.01"}, "2.00", "high", "D"),
        ({"debt_ratio": "0.9", "current_ratio": "0.5", "net_margin": "0.01"}, "1.00", "high", "E"),
    ],
)
def test_levels(seed, values, score, level, rating):
    result = expert_score(seed, {k: D(v) for k, v in values.items()})
    assert (result.score, result.level, result.rating) == (D(score), level, rating)


def test_a_missing_indicator_gives_no_rating(seed):
    result = expert_score(seed, {"debt_ratio": D("0.6"), "current_ratio": None, "net_margin": D("0.08")})
    assert result.score is None and result.rating == "" and result.missing == ["current_ratio"]


def test_the_seed_is_consistent_and_broken_configs_are_named(seed):
    assert expert_config_errors(seed) == []
    broken = ExpertConfig(
        label="x",
        weights={"debt_ratio": D("0.5")},
        bands={
            "debt_ratio": [
                Band(None, True, D("0.5"), True, D("5")),
                Band(D("0.5"), True, D("0.7"), False, D("3")),
                Band(D("0.8"), True, None, False, D("1")),
            ]
        },
        levels=[Level(D("1"), "low", "A")],
    )
    errors = expert_config_errors(broken)
    assert any("sum to 0.5" in e for e in errors)
    assert any("overlap at 0.5" in e for e in errors)
    assert any("do not meet" in e for e in errors)
    assert any("lowest scores" in e for e in errors)
