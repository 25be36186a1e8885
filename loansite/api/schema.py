"""The OpenAPI schema groups operations by business area (one tag each; the areas and their
order are ``SPECTACULAR_SETTINGS["TAGS"]``)."""

from drf_spectacular.openapi import AutoSchema

# The module a view lives in decides its area; the first match wins, else the app's name.
AREA_BY_MODULE = [
    ("loans.api.servicing", "servicing"),
    ("loans.api.collections", "collections"),
    ("loans.api.delinquency", "collections"),
    ("loansite.api.auth", "auth"),
]


def api_area(module: str) -> str:
    for prefix, area in AREA_BY_MODULE:
        if module.startswith(prefix):
            return area
    return module.split(".", 1)[0]


class AreaAutoSchema(AutoSchema):
    """drf-spectacular's schema with one tag per business area instead of the URL's first segment."""

    def get_tags(self) -> list[str]:
        return [api_area(type(self.view).__module__)]
