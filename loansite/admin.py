"""The project's replacements for Django's and third-party admin pages (discovered with the admin)."""

from django.contrib import admin

from loansite import admin_third_party, admin_users  # noqa: F401
from loansite.admin_schedules import schedules_admin_register

schedules_admin_register(admin.site)
