"""Scoring services (writes). Filled in by the scoring issue."""


def application_score(*, application_id: int) -> str | None:
    """Score one application with the active models; None when no model is active yet."""
    return None
