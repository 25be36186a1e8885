import pytest


@pytest.fixture(autouse=True)
def _audit_anchor(tmp_path, settings):
    """Each test gets its own audit head anchor file."""
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-head.json"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language, whatever language an earlier test left active
    in this thread (a view or a task that activated Chinese and returned without resetting)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def make_user(db):
    """``make_user("officer", role="Loan officer")``: an active staff user in a role group."""
    from django.contrib.auth.models import Group, User

    def make(username="user", *, role=None, superuser=False, password="s3cure-Passw0rd!", **extra):
        user = User.objects.create_user(
            username=username, password=password, is_staff=True, is_superuser=superuser, **extra
        )
        if role:
            from loansite.accounts import privileges_recorded_here

            # Test set-up, not a privilege change under test: no audit entry, no sign-out.
            with privileges_recorded_here():
                user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """``client.force_login(user)`` skips the sign-in pages, the second factor included: for users
    who must use two-factor authentication the session is marked verified with an authenticator
    enrolled for them. Tests of the sign-in itself post to the login pages instead."""
    from django.test import Client

    from tests.loansite.two_factor_helpers import session_two_factor_verify

    password_only = Client.force_login

    def force_login(self, user, backend=None):
        password_only(self, user, backend)
        session_two_factor_verify(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Cities and industries as migration customers 0009 seeds them, written again for tests
    that run after a transactional test's flush removed what migrations wrote."""
    uses_db = {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    if not uses_db and not request.node.get_closest_marker("django_db"):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    if "customers_city" in connection.introspection.table_names():
        from customers.models import City

        if not City.objects.exists():
            import_module("customers.migrations.0009_reference_data").load(apps, None)
    yield
