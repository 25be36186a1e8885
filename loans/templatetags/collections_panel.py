"""``{% loan_collections_panel %}``: the loan page's collections section (its own template)."""

from django import template

register = template.Library()


@register.inclusion_tag("admin/loans/loan/collections_panel.html", takes_context=True)
def loan_collections_panel(context):
    from loans.admin_collections_views import collections_panel_context

    loan = context.get("loan")
    request = context.get("request")
    if loan is None or request is None or not request.user.has_perm("loans.view_collectioncase"):
        return {"loan": None}
    return {"request": request, **collections_panel_context(request, loan)}
