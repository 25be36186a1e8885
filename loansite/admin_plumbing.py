"""Which admin apps are plumbing: the sign-in lockouts, task results and schedules, token lists,
authenticator devices. The admin index and its sidebar list them to administrators only
(superusers and the Administrator role), and then only the models their permissions grant;
business roles see their business apps. Hiding is for the lists: the pages themselves still
check each model's permissions as before.
"""

from loansite import roles

PLUMBING_APPS = frozenset(
    {
        "axes",
        "django_celery_results",
        "django_celery_beat",
        "token_blacklist",
        "otp_totp",
        "otp_static",
        "django_otp",
    }
)


def user_is_administrator(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=roles.ADMINISTRATOR).exists()


def app_list_for_user(app_list: list[dict], user) -> list[dict]:
    """``app_list`` without the plumbing apps unless ``user`` is an administrator."""
    if user_is_administrator(user):
        return app_list
    return [app for app in app_list if app["app_label"] not in PLUMBING_APPS]
