"""``{{ entry|audit_changes }}``: what an audit entry changed, with field names and choice values
in the reader's language (状态: 审查中 → 已批准), not the codes the entry records."""

from django import template

register = template.Library()


@register.filter
def audit_changes(entry) -> str:
    from audit.admin import _target_model
    from audit.history import entry_change_summary

    return entry_change_summary(entry, _target_model(entry.target_type))
