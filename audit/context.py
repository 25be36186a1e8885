"""Request context (IP, user agent, request id, user) for audit entries.

The middleware sets it per request; Celery tasks and commands run without one.
"""

import contextlib
import contextvars
import dataclasses
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    user: object | None = None
    # Who acts when it is not a staff user (a portal customer, "portal:<account>"): entries
    # then have no actor and this name, whoever is signed in to the admin in the same browser.
    actor_label: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("audit_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or RequestContext()


def activate(context: RequestContext):
    return _current.set(context)


def deactivate(token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def acting_as(label: str):
    """Audit entries written inside the block name ``label`` as their actor (no staff user)."""
    token = activate(dataclasses.replace(current(), user=None, actor_label=label))
    try:
        yield
    finally:
        deactivate(token)


# Audit entries keep this much of a user agent: enough to tell browsers and tools apart,
# not enough for a client to make every failed login a large write.
USER_AGENT_MAX_LENGTH = 256


def user_agent_clip(value: str | None) -> str:
    return (value or "")[:USER_AGENT_MAX_LENGTH]


def new_request_id() -> str:
    return uuid.uuid4().hex
