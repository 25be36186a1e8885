from django import template

register = template.Library()


@register.inclusion_tag("admin/risk/customer_risk_events_panel.html", takes_context=True)
def customer_risk_events(context, customer):
    """The customer's active risk events and the rules they hit (the application page)."""
    from risk.models import RiskEvent

    events = []
    if customer is not None:
        events = list(
            RiskEvent.objects.filter(customer=customer, status__in=RiskEvent.ACTIVE).order_by("-score", "-id")[:10]
        )
    request = context.get("request")
    can_open = bool(request and request.user.has_perm("risk.view_riskevent"))
    return {"risk_events": events, "can_open": can_open}
