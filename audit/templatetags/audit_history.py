from django import template

from audit.history import recent_actions

register = template.Library()


@register.simple_tag(takes_context=True)
def audit_recent_actions(context, limit=10):
    """The signed-in user's own latest audited actions (the admin index's "Recent actions")."""
    request = context.get("request")
    return recent_actions(request.user, limit=limit) if request is not None else []
