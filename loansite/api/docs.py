"""The OpenAPI schema and its documentation pages.

Outside development only active staff see them (a signed-in admin session, or a JWT for
the schema); an anonymous browser is sent to the admin login. The pages load no inline
script or style and nothing from another origin, so they pass the Content-Security-Policy.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
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


class ApiRedocView(_LoginFirst, SpectacularRedocView):
    template_name = "loansite/api_docs/redoc.html"

    def finalize_response(self, request, response, *args, **kwargs):
        # ReDoc styles its page with <style> elements it creates at run time and builds its
        # search index in a worker made from a blob: this page alone allows both (still no
        # inline script). Swagger UI (/api/docs/) needs neither.
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}
        return response
