from rest_framework import permissions


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """Model permissions for every method, reads included (``view_*``): the API
    enforces the same roles as the admin. Only active staff accounts get in."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            # Fail closed: a view without a model states its own permission classes; one that
            # forgot to must not be open to every staff account.
            return False
        return super().has_permission(request, view)


class IsActiveStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def require_perms(*perms: str):
    """A permission class for views that act rather than list: all of ``perms`` needed."""

    class _HasPerms(IsActiveStaff):
        def has_permission(self, request, view):
            return super().has_permission(request, view) and request.user.has_perms(perms)

    _HasPerms.__name__ = "HasPerms_" + "_".join(p.replace(".", "_") for p in perms)
    return _HasPerms
