"""The permission matrix: what each role may do in the admin and the API.

Built from the role definitions (``loansite.roles``) and the admin and API as registered, by
asking each ModelAdmin and each API view's permission classes, with a stand-in user holding
exactly a role's listed permissions. ``manage.py roles_matrix`` prints it as the README's
"Permission matrix" section; ``tests/loansite/test_permission_matrix.py`` checks that the README
says the same and that real accounts in the real groups get exactly this, so a new model, app
or endpoint that widens a role fails the test until the README is regenerated and reviewed.
"""

import re
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory, force_authenticate

from loansite import roles

SUPERUSER = "Superuser"
STAFF_NO_ROLE = "Staff, no role"
ANONYMOUS = "Anonymous"
COLUMNS = [*roles.ROLE_PERMISSIONS, SUPERUSER, STAFF_NO_ROLE, ANONYMOUS]

ADMIN_ACTIONS = (
    ("V", "has_view_permission"),
    ("A", "has_add_permission"),
    ("C", "has_change_permission"),
    ("D", "has_delete_permission"),
    ("I", "has_import_permission"),
    ("E", "has_export_permission"),
)
NOTHING = "—"
ALLOWED = "✓"
API_METHODS = ("get", "post", "put", "patch", "delete")
API_PREFIX = "api/v1/"
# Stands in for every path parameter; no such row exists, so an allowed call answers 404.
PATH_VALUE = "999999"


def declared_permissions() -> set[str]:
    """Every permission the installed models declare (what ``migrate`` creates)."""
    names = set()
    for model in apps.get_models():
        opts = model._meta
        names |= {f"{opts.app_label}.{action}_{opts.model_name}" for action in opts.default_permissions}
        names |= {f"{opts.app_label}.{codename}" for codename, _label in opts.permissions}
    return names


@dataclass(eq=False)
class RoleStandIn:
    """A user with exactly the given permissions (never saved): the role as defined in code."""

    username: str
    permissions: frozenset = field(default_factory=frozenset)
    is_superuser: bool = False
    is_staff: bool = True
    is_active: bool = True
    pk = None
    id = None
    is_anonymous = False
    is_authenticated = True

    def get_username(self):
        return self.username

    def has_perm(self, perm, obj=None):
        return self.is_active and (self.is_superuser or perm in self.permissions)

    def has_perms(self, perm_list, obj=None):
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label):
        return self.is_active and (
            self.is_superuser or any(perm.startswith(f"{app_label}.") for perm in self.permissions)
        )

    def get_all_permissions(self, obj=None):
        return set(self.permissions)

    def __str__(self):
        return self.username


def defined_principals() -> dict:
    """Column -> a stand-in user per the role definitions."""
    existing = declared_permissions()
    principals = {
        name: RoleStandIn(name, frozenset((set(listed) - roles.NEVER) & existing))
        for name, listed in roles.ROLE_PERMISSIONS.items()
    }
    principals[SUPERUSER] = RoleStandIn(SUPERUSER, is_superuser=True)
    principals[STAFF_NO_ROLE] = RoleStandIn(STAFF_NO_ROLE)
    principals[ANONYMOUS] = AnonymousUser()
    return principals


# --- admin ----------------------------------------------------------------------------------


def admin_models() -> list:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


def admin_access(model_admin, user) -> str:
    """The letters of what ``user`` may do with the model in the admin (the staff sign-in first)."""
    if not (user.is_active and user.is_staff):
        return NOTHING
    request = RequestFactory().get("/admin/")
    request.user = user
    letters = ""
    for letter, method in ADMIN_ACTIONS:
        check = getattr(model_admin, method, None)
        if check is not None and check(request):
            letters += letter
    return letters or NOTHING


def admin_matrix(principals: dict) -> dict:
    """``{model label: {column: letters}}`` for every model registered in the admin."""
    return {
        model._meta.label_lower: {column: admin_access(model_admin, principals[column]) for column in COLUMNS}
        for model, model_admin in admin_models()
    }


# --- API ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiOperation:
    method: str
    route: str  # e.g. /api/v1/customers/{pk}/
    callback: object = field(compare=False, repr=False)

    @property
    def url(self) -> str:
        return re.sub(r"\{\w+\}", PATH_VALUE, self.route)

    @property
    def kwargs(self) -> dict:
        return dict.fromkeys(re.findall(r"\{(\w+)\}", self.route), PATH_VALUE)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.route}"


def _route_text(pattern) -> str:
    text = str(pattern.pattern).lstrip("^").rstrip("$")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)


def api_operations() -> list[ApiOperation]:
    """Every method of every endpoint under ``/api/v1/``."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + _route_text(pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + _route_text(pattern), pattern.callback

    operations = set()
    for route, callback in walk(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None)
        if not route.startswith(API_PREFIX) or view_class is None:
            continue
        actions = getattr(callback, "actions", None)
        methods = list(actions) if actions else [m for m in API_METHODS if hasattr(view_class, m)]
        for method in methods:
            if method in API_METHODS:
                operations.add(ApiOperation(method, "/" + route, callback))
    return sorted(operations, key=lambda op: (op.route, API_METHODS.index(op.method)))


def api_allowed(operation: ApiOperation, user) -> bool:
    """Whether ``user`` passes the endpoint's authentication and permission checks (the handler is
    not run: whatever it then answers, 2xx or 400/404/409, the role may call it)."""
    request = getattr(APIRequestFactory(), operation.method)(operation.url, {}, format="json")
    if not isinstance(user, AnonymousUser):
        force_authenticate(request, user=user)
    callback = operation.callback
    view = callback.cls(**getattr(callback, "initkwargs", {}))
    actions = getattr(callback, "actions", None)
    if actions:
        view.action_map = actions
        for method, action in actions.items():
            setattr(view, method, getattr(view, action))
    view.setup(request, **operation.kwargs)
    view.headers = {}
    drf_request = view.initialize_request(request, **operation.kwargs)
    view.request = drf_request
    view.format_kwarg = None
    try:
        view.perform_authentication(drf_request)
        view.check_permissions(drf_request)
    except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied):
        return False
    return True


def api_matrix(principals: dict) -> dict:
    """``{"METHOD /route": {column: allowed}}`` for every API operation."""
    return {
        operation.label: {column: api_allowed(operation, principals[column]) for column in COLUMNS}
        for operation in api_operations()
    }


# --- the README section ---------------------------------------------------------------------


def _table(header: str, rows: dict, cell) -> list[str]:
    lines = [f"| {header} | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    for name, cells in rows.items():
        lines.append(f"| `{name}` | " + " | ".join(cell(cells[column]) for column in COLUMNS) + " |")
    return lines


def matrix_markdown(principals: dict | None = None) -> str:
    principals = principals or defined_principals()
    lines = [
        "## Permission matrix",
        "",
        "What each role may do, generated by `manage.py roles_matrix` from the role definitions",
        "(`loansite/roles.py`) and the admin and API as registered. A test checks that this is what",
        "the running system allows, so a new model, app or endpoint that widens a role fails until",
        "this section is regenerated (and reviewed). Staff who must use two-factor authentication",
        "pass their second factor before any of it.",
        "",
        "### Admin",
        "",
        f"V view, A add, C change, D delete, I import, E export; {NOTHING} no access.",
        "",
        *_table("model", admin_matrix(principals), lambda letters: letters),
        "",
        "### API",
        "",
        f"{ALLOWED} passes authentication and the permission check (the answer may still be 400, 404",
        f"or 409 for the input or the record's state); {NOTHING} 401 or 403.",
        "",
        *_table("operation", api_matrix(principals), lambda allowed: ALLOWED if allowed else NOTHING),
    ]
    return "\n".join(lines) + "\n"
