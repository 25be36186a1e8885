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

# Apps whose routes all sit under their own name are mounted under it, ahead of the others: a
# call to the risk API (thousands a second) is resolved without trying the routes of every
# app mounted at the root.
for app in ("risk", "scoring"):
    if find_spec(f"{app}.api") and find_spec(f"{app}.api.urls"):
        urlpatterns.append(path(f"{app}/", include(f"{app}.api.urls")))
for app in ("customers", "loans", "audit"):
    if find_spec(f"{app}.api") and find_spec(f"{app}.api.urls"):
        urlpatterns.append(path("", include(f"{app}.api.urls")))
