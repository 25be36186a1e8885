"""Users and groups in the admin: no password hash on any page, every privilege change audited.

Django's user and group pages, with three changes:

- the password is shown as "set" / "not set", never as the hash (algorithm, salt or digest);
- a save, delete or password change calls ``loansite.accounts``, which audits the change
  (actor, target, before / after) and ends the sessions and API tokens of an account whose
  privileges changed;
- only a superuser may grant or remove superuser status, or edit, delete or set the password
  of a superuser (an administrator must not be able to take over a superuser account).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import ReadOnlyPasswordHashField, ReadOnlyPasswordHashWidget, UserChangeForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loansite import accounts
from loansite.errors import ApplicationError

User = get_user_model()


class PasswordStatusWidget(ReadOnlyPasswordHashWidget):
    """Whether a password is set, and the button to set one; nothing of the hash."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        usable = bool(value) and not value.startswith(UNUSABLE_PASSWORD_PREFIX)
        context["widget"]["value"] = None
        context["summary"] = [{"label": gettext("Password set.") if usable else gettext("No password set.")}]
        return context


class AccountChangeForm(UserChangeForm):
    password = ReadOnlyPasswordHashField(
        label=_("Password"),
        widget=PasswordStatusWidget,
        help_text=_("Raw passwords are not stored, so there is no way to see the user’s password."),
    )


class AccountAdmin(DjangoUserAdmin):
    form = AccountChangeForm
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")
    actions = ["sign_out_everywhere"]

    # --- superusers are the superusers' business -------------------------------------
    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly.append("is_superuser")
        return readonly

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.pk == request.user.pk or (obj.is_superuser and not request.user.is_superuser)):
            return False
        return super().has_delete_permission(request, obj)

    # --- saves and deletes go through the account services ---------------------------
    def save_model(self, request, obj, form, change):
        # What the account was, read before the form writes it (kept on this request only).
        request._loansite_account_before = accounts.user_snapshot(obj) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        with accounts.privileges_recorded_here():
            super().save_related(request, form, formsets, change)
        accounts.user_saved_record(
            actor=request.user,
            user=form.instance,
            before=getattr(request, "_loansite_account_before", {}),
            created=not change,
        )

    def delete_model(self, request, obj):
        accounts.user_delete(actor=request.user, user=obj)

    def delete_queryset(self, request, queryset):
        users = list(queryset)
        # The confirmation page already refuses these; never delete past it.
        if any(not self.has_delete_permission(request, user) for user in users):
            raise PermissionDenied
        with transaction.atomic():
            for user in users:
                accounts.user_delete(actor=request.user, user=user)

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None and request.method == "POST":
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    accounts.user_password_set_record(actor=request.user, user=user)
        return response

    @admin.action(description=_("Sign out everywhere (end all sessions and API tokens)"), permissions=["change"])
    def sign_out_everywhere(self, request, queryset):
        done = 0
        for user in queryset:
            try:
                accounts.user_sign_out_everywhere(actor=request.user, user=user)
            except ApplicationError as exc:
                self.message_user(request, f"{user}: {exc.message}", level=messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, gettext("%(count)d account(s) signed out everywhere.") % {"count": done})


def own_password_change(request, view, extra_context=None):
    """The admin's "change my password" page (``view``), audited when the password changed."""
    with transaction.atomic():
        before = User.objects.filter(pk=request.user.pk).values_list("password", flat=True).first()
        response = view(request, extra_context)
        if request.method == "POST":
            after = User.objects.filter(pk=request.user.pk).values_list("password", flat=True).first()
            if after != before:
                accounts.user_password_set_record(actor=request.user, user=request.user)
    return response


class RoleGroupAdmin(DjangoGroupAdmin):
    list_display = ("name",)

    def save_model(self, request, obj, form, change):
        request._loansite_group_before = accounts.group_snapshot(obj) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        with accounts.privileges_recorded_here():
            super().save_related(request, form, formsets, change)
        accounts.group_saved_record(
            actor=request.user,
            group=form.instance,
            before=getattr(request, "_loansite_group_before", {}),
            created=not change,
        )

    def delete_model(self, request, obj):
        accounts.group_delete(actor=request.user, group=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for group in queryset:
                accounts.group_delete(actor=request.user, group=group)


for _model, _admin_class in ((User, AccountAdmin), (Group, RoleGroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)
