"""The one family of domain errors.

Services raise these; thin callers translate them: an admin message, an HTTP 4xx with
the message, or a form error. ``status_code`` is the HTTP status an API returns.
"""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status_code = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, extra: dict | None = None):
        self.message = message or self.default_message
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    """Input that breaks a business rule (not a malformed field)."""

    status_code = 400
    default_message = _("The input is not valid.")


class NotAllowed(ApplicationError):
    """The actor lacks the role, authority or independence for this action."""

    status_code = 403
    default_message = _("You are not allowed to do this.")


class NotFound(ApplicationError):
    status_code = 404
    default_message = _("Not found.")


class InvalidTransition(ApplicationError):
    """A state change that the transition table does not allow from the current state."""

    status_code = 409
    default_message = _("This change is not allowed in the current state.")


class Conflict(ApplicationError):
    """Someone else changed the record first, or a uniqueness rule would be broken."""

    status_code = 409
    default_message = _("The record was changed by someone else; reload and try again.")
