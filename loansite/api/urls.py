"""``/api/v1/``: each app contributes its routes from ``<app>/api/urls.py``."""

from importlib.util import find_spec

from django.urls import include, path

from loansite.api import auth

auth_patterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("refresh/", auth.RefreshView.as_view(), name="refresh"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("me/", auth.MeView.as_view(), name="me"),
    path("change-password/", auth.ChangePasswordView.as_view(), name="change-password"),
    path("register/", auth.RegisterView.as_view(), name="register"),
]

urlpatterns = [path("auth/", include((auth_patterns, "auth")))]

for app in ("customers", "loans", "risk", "scoring", "audit"):
    if find_spec(f"{app}.api") and find_spec(f"{app}.api.urls"):
        urlpatterns.append(path("", include(f"{app}.api.urls")))
