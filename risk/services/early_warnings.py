"""Early warnings: signals from the rest of the system become risk events.

``risk_signal_record`` is the entry point other apps call (the delinquency issue's daily
close: loan overdue, worse bucket, downgrade). The scan (a beat task) looks for PD rising
between two scorings, credit lines used above a share and revenue dropping between
financials. The thresholds and points are rules (``RiskRule`` of the early-warning kinds),
so analysts tune them like any other rule; the points map to a level by the thresholds.
"""

from decimal import Decimal, InvalidOperation

from risk.engine import RuleError

SIGNAL_KINDS = ("pd_rise", "credit_line_use", "revenue_drop", "loan_overdue", "bucket_worse", "downgrade")
PARAMS = {"pd_rise": "points", "credit_line_use": "percent", "revenue_drop": "percent"}


def early_warning_params_check(kind: str, params, points) -> None:
    if kind not in SIGNAL_KINDS:
        raise RuleError({"kind": f"unknown kind {kind}"})
    if not isinstance(params, dict):
        raise RuleError({"params": "a JSON object is needed"})
    if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= 1000:
        raise RuleError({"points": "a whole number from 0 to 1000"})
    name = PARAMS.get(kind)
    if name:
        try:
            value = Decimal(str(params.get(name)))
        except (InvalidOperation, ValueError):
            raise RuleError({name: "a number above 0 is needed"})
        if not value.is_finite() or value <= 0 or (kind != "pd_rise" and value > 100):
            raise RuleError({name: "a number above 0 (a share at most 100) is needed"})
