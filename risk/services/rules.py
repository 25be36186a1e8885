"""Rule changes: each one a new version (the old ones kept), checked by the engine, audited."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import Conflict, NotAllowed, ValidationFailed
from risk.engine import RuleDef, RuleError, Thresholds, rule_compile
from risk.models import EVENT_RULE_KINDS, LevelThreshold, RiskRule, RiskRuleVersion
from risk.selectors import rules_changed
from risk.services.early_warnings import early_warning_params_check

SNAPSHOT = ("kind", "params", "points", "enabled")


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


def rule_check(*, code: str, kind: str, params, points) -> None:
    """Raise :class:`ValidationFailed` (with field errors) unless the engine can use the rule."""
    try:
        if kind in EVENT_RULE_KINDS:
            rule_compile(RuleDef(code, 0, kind, params, points))
        else:
            early_warning_params_check(kind, params, points)
    except RuleError as exc:
        raise ValidationFailed(str(exc), extra={"errors": exc.errors})


def _snapshot(rule) -> dict:
    return {name: getattr(rule, name) for name in SNAPSHOT}


@transaction.atomic
def rule_create(*, actor, code: str, name: str, kind: str, params: dict, points: int, enabled: bool, description=""):
    _require(actor, "risk.add_riskrule")
    rule_check(code=code, kind=kind, params=params, points=points)
    if RiskRule.objects.filter(code=code).exists():
        raise Conflict(_("A rule with this code exists."))
    rule = RiskRule.objects.create(
        code=code,
        name=name,
        kind=kind,
        params=params,
        points=points,
        enabled=enabled,
        description=description,
        updated_by=actor,
    )
    RiskRuleVersion.objects.create(
        rule=rule,
        version=1,
        kind=kind,
        params=params,
        points=points,
        enabled=enabled,
        changed_by=actor,
        reason=_("created"),
    )
    audit_record(action=AuditAction.CREATE, actor=actor, target=rule, changes={"after": _snapshot(rule), "version": 1})
    # Now for this process and transaction, again once committed for the others.
    rules_changed()
    transaction.on_commit(rules_changed)
    return rule


@transaction.atomic
def rule_update(
    *, actor, rule: RiskRule, params: dict, points: int, enabled: bool, reason: str, name=None, description=None
) -> RiskRule:
    """A new version of the rule. Scores already stored keep the version they used."""
    _require(actor, "risk.change_riskrule")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the rule changes."), extra={"errors": {"reason": _("A reason is needed.")}})
    rule_check(code=rule.code, kind=rule.kind, params=params, points=points)
    current = RiskRule.objects.select_for_update().get(pk=rule.pk)
    if current.version != rule.version:
        raise Conflict()
    before = _snapshot(current)
    after = {"kind": current.kind, "params": params, "points": points, "enabled": enabled}
    labels = {}
    if name is not None:
        labels["name"] = name
    if description is not None:
        labels["description"] = description
    if after == before:
        if labels:
            RiskRule.objects.filter(pk=rule.pk).update(**labels)
            rule.refresh_from_db()
        return rule
    version = current.version + 1
    updated = RiskRule.objects.filter(pk=rule.pk, version=current.version).update(
        params=params,
        points=points,
        enabled=enabled,
        version=F("version") + 1,
        updated_by=actor,
        updated_at=timezone.now(),
        **labels,
    )
    if updated != 1:
        raise Conflict()
    RiskRuleVersion.objects.create(
        rule=rule,
        version=version,
        kind=current.kind,
        params=params,
        points=points,
        enabled=enabled,
        changed_by=actor,
        reason=reason[:500],
    )
    rule.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=rule,
        changes={"before": before, "after": after, "version": [version - 1, version]},
        reason=reason,
    )
    # Now for this process and transaction, again once committed for the others.
    rules_changed()
    transaction.on_commit(rules_changed)
    return rule


@transaction.atomic
def thresholds_update(*, actor, medium: int, high: int, reason: str) -> Thresholds:
    _require(actor, "risk.change_levelthreshold")
    try:
        thresholds = Thresholds(medium=int(medium), high=int(high))
    except (TypeError, ValueError):
        raise ValidationFailed(_("Medium must start above 0 and below high."))
    before = dict(LevelThreshold.objects.values_list("level", "min_score"))
    for level, score in (("medium", thresholds.medium), ("high", thresholds.high)):
        LevelThreshold.objects.update_or_create(
            level=level, defaults={"min_score": score, "updated_by": actor, "updated_at": timezone.now()}
        )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=("risk.levelthreshold", "levels", "level thresholds"),
        changes={"before": before, "after": {"medium": thresholds.medium, "high": thresholds.high}},
        reason=reason,
    )
    # Now for this process and transaction, again once committed for the others.
    rules_changed()
    transaction.on_commit(rules_changed)
    return thresholds
