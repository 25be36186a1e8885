import re

from audit import context
from loansite.proxy import client_ip

__all__ = ["RequestContextMiddleware", "client_ip"]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else context.new_request_id()
        request.request_id = request_id
        token = context.activate(
            context.RequestContext(
                ip=client_ip(request),
                user_agent=context.user_agent_clip(request.headers.get("User-Agent", "")),
                request_id=request_id,
                user=getattr(request, "user", None),
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request_id
        return response
