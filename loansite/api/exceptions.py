from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
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
    return drf_exception_handler(exc, context)
