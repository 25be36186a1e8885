from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from loansite.errors import ApplicationError


def exception_handler(exc, context):
    """Domain errors become 4xx responses with their message; never a 500."""
    if isinstance(exc, ApplicationError):
        body = {"detail": str(exc.message), "code": type(exc).__name__}
        if exc.extra:
            body.update(exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    request = context.get("request")
    if isinstance(exc, AuthenticationFailed) and getattr(request, "axes_locked_out", False):
        # django-axes refused the sign-in (its middleware answers only the admin's requests).
        from loansite.throttling import lockout_seconds_left, retry_message

        seconds = lockout_seconds_left(request, getattr(request, "axes_credentials", None))
        response = Response(
            {"detail": retry_message(seconds), "code": "locked_out", "retry_after": seconds},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response["Retry-After"] = str(seconds)
        return response
    return drf_exception_handler(exc, context)
