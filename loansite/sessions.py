"""Session middleware that never lets a request which did not change the session touch its cookie.

With ``SESSION_SAVE_EVERY_REQUEST`` (the idle timeout) Django's middleware sends the session
cookie again on every answer, and deletes it when the session it loaded was empty. Both race
with a sign-in: the browser fetches the icon or a chart's data alongside the page, the sign-in
rotates the session key (``cycle_key``), and the side request's answer then brings back the old,
deleted key or deletes the new cookie: the user is signed out a second after signing in.

Here a request that did not modify its session only moves the stored session's expiry
forward; the cookie is left as the browser holds it. Sessions are browser-session cookies
(``SESSION_EXPIRE_AT_BROWSER_CLOSE``), so sending one again carried nothing new. A request
that modified its session (signed in, signed out, stored a message) goes through Django's
middleware unchanged.
"""

import contextlib

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.utils.cache import patch_vary_headers


class SessionMiddleware(DjangoSessionMiddleware):
    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is None or session.modified or not settings.SESSION_EXPIRE_AT_BROWSER_CLOSE:
            return super().process_response(request, response)
        if session.accessed:
            patch_vary_headers(response, ("Cookie",))
        if settings.SESSION_SAVE_EVERY_REQUEST and response.status_code < 500 and not session.is_empty():
            # Rotated or ended by a concurrent request since this one loaded it: nothing to extend.
            with contextlib.suppress(UpdateError):
                session.save()
        return response
