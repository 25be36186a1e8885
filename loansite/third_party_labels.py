"""Names that installed apps give their admin pages and that their own catalogues leave without
Simplified Chinese (django-axes has none, simplejwt's and Django's own are partial). Marked here so that
``makemessages`` keeps them in the project's catalogue (``locale/``), which comes first."""

from django.utils.translation import gettext_noop

THIRD_PARTY_LABELS = (
    # django-axes
    gettext_noop("access attempts"),
    gettext_noop("access failures"),
    gettext_noop("access logs"),
    # Django's admin index: the headers of each app's table, for screen readers (new in 5.x)
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    # djangorestframework-simplejwt
    gettext_noop("Token Blacklist"),
    gettext_noop("Outstanding Tokens"),
    gettext_noop("Blacklisted Tokens"),
)
