"""Sessions end when the account's privileges or security stamp changed since they began."""

from django.contrib.auth import SESSION_KEY, logout
from django.utils.crypto import constant_time_compare

from loansite.security import SESSION_STAMP_KEY, user_session_stamp


class SessionStampMiddleware:
    """A signed-in session carries the account's session stamp (``loansite.security``); once the
    stamp changes (roles, flags, deactivation, "sign out everywhere") the session is logged out
    on its next request. Django itself ends sessions whose password hash changed.

    Place right after ``AuthenticationMiddleware``. The stamp is read from the database, so it
    holds across web servers. Staff requests pay one small query; anonymous ones nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            user = request.user
            if user.is_authenticated:
                stored = session.get(SESSION_STAMP_KEY)
                current = user_session_stamp(user)
                if stored is None:
                    # A session from before stamps existed: bind it now.
                    session[SESSION_STAMP_KEY] = current
                elif not constant_time_compare(stored, current):
                    logout(request)
        response = self.get_response(request)
        # Signed in during this request: bind the new session to the account as it is now.
        if session is not None and SESSION_KEY in session and SESSION_STAMP_KEY not in session:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                session[SESSION_STAMP_KEY] = user_session_stamp(user)
        return response
