"""The expert (judgemental) scorecard: pure maths over plain values.

Each indicator's value falls in exactly one band (edges are explicit: ``lower`` and
``upper`` each included or not, an empty edge open); its points times the indicator's
weight add up to the weighted score; the first level whose ``min_score`` the score reaches
(highest first) gives the risk level and the internal rating. The working-capital seed:
debt ratio 60 % (3 points x 0.3), current ratio 1.5 (3 x 0.2), net margin 8 % (3 x 0.5)
give 3.0, medium.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

SCORE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Band:
    lower: Decimal | None
    lower_inclusive: bool
    upper: Decimal | None
    upper_inclusive: bool
    points: Decimal

    def holds(self, value: Decimal) -> bool:
        above_lower = self.lower is None or value > self.lower or (value == self.lower and self.lower_inclusive)
        below_upper = self.upper is None or value < self.upper or (value == self.upper and self.upper_inclusive)
        return above_lower and below_upper

    def label(self, percent: bool = False) -> str:
        def show(v: Decimal) -> str:
            return f"{(v * 100).normalize():f} %" if percent else f"{v.normalize():f}"

        left = "" if self.lower is None else f"{show(self.lower)} {'≤' if self.lower_inclusive else '<'} "
        right = "" if self.upper is None else f" {'≤' if self.upper_inclusive else '<'} {show(self.upper)}"
        return f"{left}x{right}"


@dataclass(frozen=True)
class Level:
    min_score: Decimal
    level: str
    rating: str


@dataclass(frozen=True)
class ExpertConfig:
    """One scorecard: ``weights`` and ``bands`` by indicator, ``levels`` in any order."""

    label: str
    weights: dict[str, Decimal]
    bands: dict[str, list[Band]]
    levels: list[Level]


@dataclass(frozen=True)
class ExpertLine:
    indicator: str
    value: Decimal | None
    band: str
    points: Decimal | None
    weight: Decimal
    weighted: Decimal | None


@dataclass(frozen=True)
class ExpertResult:
    label: str
    score: Decimal | None
    level: str
    rating: str
    lines: list[ExpertLine] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "scorecard": self.label,
            "score": None if self.score is None else str(self.score),
            "level": self.level,
            "rating": self.rating,
            "lines": [
                {
                    "indicator": line.indicator,
                    "value": None if line.value is None else str(line.value),
                    "band": line.band,
                    "points": None if line.points is None else str(line.points),
                    "weight": str(line.weight),
                }
                for line in self.lines
            ],
            "missing": self.missing,
        }


PERCENT_INDICATORS = frozenset({"debt_ratio", "net_margin"})


def expert_config_errors(config: ExpertConfig) -> list[str]:
    """What makes a scorecard unusable: weights not summing to 1, an indicator without
    bands, bands that overlap or leave a gap, no level from the lowest possible score."""
    errors = []
    total = sum(config.weights.values(), Decimal("0"))
    if total != Decimal("1"):
        errors.append(f"weights sum to {total.normalize():f}, not 1")
    for indicator in config.weights:
        bands = sorted(
            config.bands.get(indicator, []), key=lambda b: (b.lower is not None, b.lower if b.lower is not None else 0)
        )
        if not bands:
            errors.append(f"{indicator}: no bands")
            continue
        if bands[0].lower is not None:
            errors.append(f"{indicator}: nothing below {bands[0].lower.normalize():f}")
        if bands[-1].upper is not None:
            errors.append(f"{indicator}: nothing above {bands[-1].upper.normalize():f}")
        for left, right in zip(bands, bands[1:], strict=False):
            if left.upper is None or right.lower is None or left.upper != right.lower:
                errors.append(f"{indicator}: bands {left.label()} and {right.label()} do not meet")
            elif left.upper_inclusive == right.lower_inclusive:
                word = "overlap" if left.upper_inclusive else "leave a gap"
                errors.append(
                    f"{indicator}: bands {left.label()} and {right.label()} {word} at {left.upper.normalize():f}"
                )
    if not config.levels:
        errors.append("no levels")
    elif min(level.min_score for level in config.levels) > 0:
        errors.append("no level for the lowest scores (add one from 0)")
    return errors


def expert_score(config: ExpertConfig, values: dict[str, Decimal | None]) -> ExpertResult:
    """The weighted score, level and rating of ``values`` (indicator -> value). A missing
    indicator leaves the result without score, level or rating (listed in ``missing``)."""
    lines, missing, total = [], [], Decimal("0")
    for indicator, weight in config.weights.items():
        raw = values.get(indicator)
        if raw is None:
            missing.append(indicator)
            lines.append(ExpertLine(indicator, None, "", None, weight, None))
            continue
        value = Decimal(str(raw))
        band = next((b for b in config.bands.get(indicator, []) if b.holds(value)), None)
        if band is None:
            missing.append(indicator)
            lines.append(ExpertLine(indicator, value, "", None, weight, None))
            continue
        weighted = band.points * weight
        total += weighted
        lines.append(
            ExpertLine(indicator, value, band.label(indicator in PERCENT_INDICATORS), band.points, weight, weighted)
        )
    if missing:
        return ExpertResult(config.label, None, "", "", lines, missing)
    score = total.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)
    level = next((lv for lv in sorted(config.levels, key=lambda lv: -lv.min_score) if score >= lv.min_score), None)
    if level is None:
        return ExpertResult(config.label, score, "", "", lines, missing)
    return ExpertResult(config.label, score, level.level, level.rating, lines, missing)
