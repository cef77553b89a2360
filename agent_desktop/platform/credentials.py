"""The login token, kept in the operating system's keyring and nowhere else.

Only this module imports keyring (an import-linter contract checks it). When no keyring
is available (a headless Linux without a Secret Service), the token is kept in memory for
this run only and the agent is told why they will be asked to log in again next time.
"""

from __future__ import annotations

import contextlib

import keyring
from keyring.errors import KeyringError, NoKeyringError

SERVICE = "agent-desktop"


class CredentialsUnavailable(Exception):
    """No keyring here: says so in words for the agent."""


def _key(server_url: str, username: str) -> str:
    return f"{username}@{server_url}"


class TokenStore:
    """Saves and finds the session token for a server and user."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}
        self.persistent = True
        self.problem = ""

    def save(self, server_url: str, username: str, token: str) -> None:
        key = _key(server_url, username)
        try:
            keyring.set_password(SERVICE, key, token)
        except (NoKeyringError, KeyringError) as exc:
            self.persistent = False
            self.problem = (
                "No password store (keyring) is available on this computer, so your "
                "session is kept only until Agent Desktop closes. You will log in again "
                f"next time. ({type(exc).__name__})"
            )
            self._memory[key] = token

    def load(self, server_url: str, username: str) -> str | None:
        key = _key(server_url, username)
        if key in self._memory:
            return self._memory[key]
        try:
            return keyring.get_password(SERVICE, key)
        except (NoKeyringError, KeyringError):
            return None

    def delete(self, server_url: str, username: str) -> None:
        key = _key(server_url, username)
        self._memory.pop(key, None)
        with contextlib.suppress(KeyringError):  # nothing saved, or no keyring: fine
            keyring.delete_password(SERVICE, key)
