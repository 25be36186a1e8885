"""``/portal/``: the customer portal (namespace "portal").

The portal pages (my manager, applications, loans) add their routes from
``customers/portal/urls_pages.py`` when it exists; a ``home`` view in ``views_pages`` replaces
the empty home page.
"""

from importlib import import_module
from importlib.util import find_spec

from django.urls import include, path

from customers.portal import views_account as views

app_name = "portal"


def _home():
    if find_spec("customers.portal.views_pages"):
        pages = import_module("customers.portal.views_pages")
        if hasattr(pages, "home"):
            return pages.home
    return views.home


urlpatterns = [
    path("", _home(), name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("switch/", views.switch, name="switch"),
    path("register/", views.register, name="register"),
    path("register/verify/", views.register_verify, name="register-verify"),
    path("access/add/", views.add_access, name="add-access"),
    path("access/add/verify/", views.add_access_verify, name="add-access-verify"),
    path("password/reset/", views.reset, name="reset"),
    path("password/reset/verify/", views.reset_verify, name="reset-verify"),
    path("password/change/", views.change_password, name="change-password"),
    path("profile/", views.profile, name="profile"),
    path("profile/change-request/", views.change_request, name="change-request"),
    path("messages/", views.messages_page, name="messages"),
]

if find_spec("customers.portal.urls_pages"):
    urlpatterns.append(path("", include("customers.portal.urls_pages")))
