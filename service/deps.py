"""Request dependencies: the store, behind the API-key check with roles.

Each ``/v1`` endpoint has exactly one dependency (``any_role`` or ``investigator_only``) that checks
the ``X-API-Key`` header and hands back the store: every extra FastAPI dependency costs tens of
microseconds per request. The key is read from the request directly; the OpenAPI spec still
declares it as the ``APIKeyHeader`` security scheme (``SECURITY`` on each operation,
``SECURITY_SCHEMES`` added by ``service.app``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError

from service.settings import Role
from service.store import Store
from service.store.lifecycle import LIFECYCLES

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEMES = {
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "An API key from RINGSCOPE_API_KEYS (`key:role,key:role`).",
    }
}
SECURITY = [{"APIKeyHeader": []}]
_CHALLENGE = {"WWW-Authenticate": "APIKey"}


async def get_store(request: Request) -> Store:
    """The app's verdict store (async: no thread-pool hop per request)."""
    return request.app.state.store


def invalid_param(param: str, message: str, value: str, where: str = "query") -> RequestValidationError:
    """A 422 for one parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (where, param), "msg": message, "input": value}]
    )


def lifecycle_steps(text: str | None) -> list[str] | None:
    """The ``lifecycle`` query parameter (comma-separated steps) as a list; a 422 naming the first
    unknown step."""
    if text is None:
        return None
    steps = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in steps if x not in LIFECYCLES]
    if unknown or not steps:
        raise invalid_param(
            "lifecycle", f"{(unknown or [''])[0]!r} is not one of {', '.join(LIFECYCLES)}", text
        )
    return steps


#: The ``lifecycle`` query parameter's description.
LIFECYCLE_HELP = (
    "only clusters whose latest change did this: comma-separated lifecycle steps, e.g. grew,merged "
    f"(of {', '.join(LIFECYCLES)})"
)


def key_name(key: str, role: Role) -> str:
    """Who a key is in the audit trail, without the secret: its role and 8 hex of its SHA-256."""
    return f"{role.value}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def role_of(key: str, key_roles: dict[str, Role]) -> Role | None:
    """The role of ``key``, compared against every known key in constant time."""
    found = None
    encoded = key.encode()
    for known, role in key_roles.items():
        if hmac.compare_digest(known.encode(), encoded):
            found = role
    return found


def require_role(*allowed: Role) -> Callable[[Request], Awaitable[Store]]:
    """A dependency: 401 without a known key, 403 when its role is not ``allowed``; else the store."""

    async def check(request: Request) -> Store:
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            raise HTTPException(401, "missing X-API-Key header", headers=_CHALLENGE)
        role = role_of(key, request.app.state.key_roles)
        if role is None:
            raise HTTPException(401, "unknown API key", headers=_CHALLENGE)
        if role not in allowed:
            raise HTTPException(403, f"the {role.value} role may not read this")
        request.state.role = role
        return request.app.state.store

    return check


any_role = require_role(Role.investigator, Role.enforcement)
investigator_only = require_role(Role.investigator)
