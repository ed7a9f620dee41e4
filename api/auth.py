"""Bearer tokens with scopes (read < write < admin), checked against SHA-256 hashes from the settings.

Tokens are never stored: the settings hold ``name:scope:sha256hex`` entries (``poems-kg token`` makes them), and a
request's token is hashed and compared in constant time. With no entries configured, every write is refused.
"""

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from api.deps import app_settings
from kg.settings import Settings
from kg.tokens import Agent, token_entries


def authenticate(request: Request, settings: Settings) -> Agent:
    """The agent of the request's bearer token: 403 when writes are not configured, 401 for a missing or wrong token."""
    entries = token_entries(settings)
    if not entries:
        raise HTTPException(403, "writes are not configured on this server (set POEMS_KG_TOKENS or POEMS_KG_TOKENS_FILE)")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="poems-kg"'}
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "this request needs 'Authorization: Bearer <token>'", headers=challenge)
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    for name, scope, expected in entries:
        if hmac.compare_digest(digest, expected):
            return Agent(name, scope)
    raise HTTPException(401, "the bearer token is not valid", headers=challenge)


def require(scope: str) -> Callable[[Request, Settings], Coroutine[Any, Any, Agent]]:
    """A dependency that answers 401/403 unless the request's token has ``scope``."""

    async def check(request: Request, settings: Annotated[Settings, Depends(app_settings)]) -> Agent:
        agent = authenticate(request, settings)
        if not agent.may(scope):
            raise HTTPException(403, f"the token of '{agent.name}' has scope '{agent.scope}'; this needs '{scope}'")
        return agent

    return check
