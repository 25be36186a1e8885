from django import template

from customers.selectors_rating import customer_rating_panel

register = template.Library()


@register.inclusion_tag("admin/customers/customer/_rating_panel.html", takes_context=True)
def rating_panel(context, customer):
    """The customer page's rating section (expert next to statistical, history, buttons)."""
    user = context["request"].user
    return {
        "customer": customer,
        "panel": customer_rating_panel(customer=customer),
        "can_rate": user.has_perm("customers.rate_customer"),
        "can_approve": user.has_perm("customers.approve_customerrating"),
    }
