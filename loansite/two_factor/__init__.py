"""Two-factor authentication for staff: TOTP authenticator apps plus single-use recovery codes.

Built on django-otp. Who must use it, the admin sign-in steps, enrolment, recovery codes,
resets by an administrator and the API login check all live here.
"""
