from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path

from loansite import views
from loansite.api.docs import ApiDocsView, ApiRedocView, ApiSchemaView

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The customer portal and its API (portal accounts and tokens only; customers/portal/).
    path("portal/", include("customers.portal.urls")),
    path("api/v1/portal/", include("customers.portal.api_urls")),
    path("api/v1/", include(("loansite.api.urls", "api"), namespace="api")),
    # Staff only outside development; no inline script (Content-Security-Policy).
    path("api/schema/", ApiSchemaView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", ApiRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

# Public pages (the application form and status lookup) live in the loans app.
if find_spec("loans.urls"):
    urlpatterns.append(path("", include("loans.urls")))
