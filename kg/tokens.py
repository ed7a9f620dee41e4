"""Bearer tokens' format: scopes (read < write < admin), new tokens, and the entries of the settings that grant them.

An entry is ``name:scope:sha256hex``: ``poems-kg token`` makes them, the service checks requests against them.
"""

import hashlib
import secrets
from dataclasses import dataclass

from kg.settings import Settings

SCOPES = ("read", "write", "admin")  # each includes the ones before it


class TokenConfigError(ValueError):
    """A malformed token entry in the settings."""


def new_token(name: str, scope: str) -> tuple[str, str]:
    """A fresh random token and the ``name:scope:sha256`` entry that grants it ``scope``."""
    if scope not in SCOPES or not name.isidentifier():
        raise TokenConfigError(f"scope must be one of {', '.join(SCOPES)} and the name a plain word, not '{name}'")
    token = secrets.token_urlsafe(32)
    return token, token_entry(name, scope, token)


def token_entry(name: str, scope: str, token: str) -> str:
    """The ``name:scope:sha256`` settings entry that grants ``token`` the ``scope``."""
    return f"{name}:{scope}:{hashlib.sha256(token.encode()).hexdigest()}"


def token_entries(settings: Settings) -> list[tuple[str, str, str]]:
    """Every configured ``(name, scope, sha256)``; ``TokenConfigError`` names a malformed one."""
    lines = list(settings.tokens)
    if settings.tokens_file:
        lines += [line.strip() for line in settings.tokens_file.read_text(encoding="utf-8").splitlines()]
    out = []
    for where, line in enumerate(lines, start=1):
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        scope, _, digest = rest.partition(":")
        if scope not in SCOPES or len(digest) != 64 or not name:
            raise TokenConfigError(f"token entry {where} must be name:scope:sha256hex with scope in {SCOPES}")
        out.append((name, scope, digest.lower()))
    return out


@dataclass(frozen=True)
class Agent:
    """Who a valid token belongs to, and what it may do."""

    name: str
    scope: str

    def may(self, scope: str) -> bool:
        """Whether this agent's scope includes ``scope``."""
        return SCOPES.index(self.scope) >= SCOPES.index(scope)
