"""The OpenAPI schema and its documentation pages.

Outside development only active staff see them (a signed-in admin session, or a JWT for
the schema); an anonymous browser is sent to the admin login. The pages load no inline
script or style and nothing from another origin, so they pass the Content-Security-Policy.
"""

from functools import lru_cache

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission

from loansite.api.permissions import IsActiveStaff


class ApiDocsPermission(BasePermission):
    """Anyone in development; active staff everywhere else."""

    def has_permission(self, request, view):
        if not getattr(settings, "PRODUCTION", False):
            return True
        return IsActiveStaff().has_permission(request, view)


class _DocsAccess:
    permission_classes = [ApiDocsPermission]


class _LoginFirst(_DocsAccess):
    """HTML pages: an anonymous visitor gets the admin login, then comes back."""

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path(), login_url=reverse("admin:login"))
        return super().handle_exception(exc)


class ApiSchemaView(_DocsAccess, SpectacularAPIView):
    pass


class ApiDocsView(_LoginFirst, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file (no inline script)."""

    template_name = "loansite/api_docs/swagger_ui.html"


# ReDoc's bundle shows its maker's logo from a CDN at the foot of the menu: served here with
# the logo read from this site instead, so the page asks no other host for anything.
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_REMOTE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def redoc_bundle_offline() -> bytes:
    path = finders.find(REDOC_BUNDLE)
    with open(path, encoding="utf-8") as bundle:
        source = bundle.read()
    return source.replace(REDOC_REMOTE_LOGO, static("loansite/favicon.ico")).encode()


class ApiRedocView(_LoginFirst, SpectacularRedocView):
    template_name = "loansite/api_docs/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if "script" in request.GET:
            response = HttpResponse(redoc_bundle_offline(), content_type="application/javascript; charset=utf-8")
            response["Cache-Control"] = "private, max-age=3600"
            return response
        response = super().get(request, *args, **kwargs)
        response.data["redoc_standalone"] = f"{request.path}?script="
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # ReDoc styles its page with <style> elements it creates at run time and builds its
        # search index in a worker made from a blob: this page alone allows both (still no
        # inline script). Swagger UI (/api/docs/) needs neither.
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}
        return response
