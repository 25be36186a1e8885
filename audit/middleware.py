import ipaddress
import re

from django.conf import settings

from audit import context

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address a configured trusted proxy put in its header."""
    ip = request.META.get("REMOTE_ADDR")
    header = settings.TRUSTED_PROXY_IP_HEADER
    if header and request.META.get(header):
        hops = [part.strip() for part in request.META[header].split(",") if part.strip()]
        # Each trusted proxy appends the address it saw; the client is that many from the end.
        index = max(len(hops) - settings.TRUSTED_PROXY_COUNT, 0)
        if hops:
            ip = hops[index]
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


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
                user_agent=request.headers.get("User-Agent", "")[:512],
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
