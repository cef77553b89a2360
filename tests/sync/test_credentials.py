"""The session token lives in the OS keyring and nowhere else."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.backends.fail
from memory_keyring import MemoryKeyring

from agent_desktop.platform.credentials import SERVICE, TokenStore

URL = "http://127.0.0.1:8765"


def test_the_token_round_trips_through_the_keyring(memory_keyring: MemoryKeyring) -> None:
    tokens = TokenStore()
    tokens.save(URL, "agent", "s3cret-token")
    assert memory_keyring.secrets == {(SERVICE, f"agent@{URL}"): "s3cret-token"}
    assert TokenStore().load(URL, "agent") == "s3cret-token"  # a new run finds it
    tokens.delete(URL, "agent")
    assert TokenStore().load(URL, "agent") is None
    tokens.delete(URL, "agent")  # deleting twice is not an error


def test_without_a_keyring_the_token_stays_in_memory_and_the_agent_is_told(
        isolated_home: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    tokens = TokenStore()
    tokens.save(URL, "agent", "only-in-memory-token")
    assert tokens.load(URL, "agent") == "only-in-memory-token"
    assert not tokens.persistent
    assert "No password store (keyring)" in tokens.problem
    assert TokenStore().load(URL, "agent") is None  # gone with this run
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert b"only-in-memory-token" not in path.read_bytes(), path
