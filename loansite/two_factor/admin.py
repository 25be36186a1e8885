"""django-otp registers admins for its device models that show the TOTP key, its QR code and the
recovery codes. Secrets never render here: the devices are managed only through the two-factor
pages (the owner's enrolment, an administrator's reset), so those admins are taken off the site."""

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
