from django import template

from customers.selectors_rating import customer_rating_panel

register = template.Library()


@register.inclusion_tag("admin/customers/customer/_rating_panel.html", takes_context=True)
def rating_panel(context, customer):
    """The customer page's rating section (expert next to statistical, history, buttons)."""
    from scoring.templatetags.decision_tags import level_label

    user = context["request"].user
    panel = customer_rating_panel(customer=customer)
    return {
        "customer": customer,
        "panel": panel,
        "expert_level": level_label(panel["expert"].level) if panel["expert"] is not None else "",
        "can_rate": user.has_perm("customers.rate_customer"),
        "can_approve": user.has_perm("customers.approve_customerrating"),
    }
