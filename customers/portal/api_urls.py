"""``/api/v1/portal/``: the customer API (portal tokens only; namespace "portal-api").

The portal pages' endpoints come from ``customers/portal/api_urls_pages.py`` when it exists.
"""

from importlib.util import find_spec

from django.urls import include, path

from customers.portal import api_account

app_name = "portal-api"

urlpatterns = [
    path("auth/token/", api_account.TokenView.as_view(), name="token"),
    path("auth/refresh/", api_account.RefreshView.as_view(), name="refresh"),
    path("auth/logout/", api_account.LogoutView.as_view(), name="logout"),
    path("auth/me/", api_account.MeView.as_view(), name="me"),
    path("auth/register/code/", api_account.RegisterCodeView.as_view(), name="register-code"),
    path("auth/register/", api_account.RegisterView.as_view(), name="register"),
    path("auth/reset/code/", api_account.ResetCodeView.as_view(), name="reset-code"),
    path("auth/reset/", api_account.ResetView.as_view(), name="reset"),
    path("auth/password/", api_account.PasswordView.as_view(), name="password"),
    path("profile/", api_account.ProfileView.as_view(), name="profile"),
    path("profile/change-requests/", api_account.ChangeRequestView.as_view(), name="change-requests"),
    path("messages/", api_account.MessagesView.as_view(), name="messages"),
    path("messages/seen/", api_account.MessagesSeenView.as_view(), name="messages-seen"),
]

if find_spec("customers.portal.api_urls_pages"):
    urlpatterns.append(path("", include("customers.portal.api_urls_pages")))
