"""Shared admin helpers: the match score breakdown table."""

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

COMPONENT_LABELS = {
    "industry": _("Industry expertise"),
    "city": _("Same city"),
    "workload": _("Workload headroom"),
    "value_fit": _("Customer value vs seniority"),
    "book_quality": _("Manager's book quality"),
}


def breakdown_table(components: dict):
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (COMPONENT_LABELS.get(name, name), part["value"], part["weight"], part["points"])
            for name, part in components.items()
        ),
    )
    return format_html(
        '<table class="match-breakdown"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        _("Component"),
        _("Value (0-1)"),
        _("Weight"),
        _("Points"),
        rows,
    )
