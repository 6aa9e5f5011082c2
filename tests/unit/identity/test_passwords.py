"""Password hashing: production's work factors, and hashes that survive a change of them.

The suite itself hashes cheaply (tests/conftest.py), so production's profile is checked in a
fresh interpreter that has not been told otherwise."""

from __future__ import annotations

import subprocess
import sys

import pytest

from khusela.identity import passwords

PASSWORD = "correct horse battery"
HASH_IN_A_FRESH_PROCESS = (
    "from khusela.identity import passwords; print(passwords.hash_password('correct horse battery'))"
)


@pytest.fixture(scope="module")
def production_hash() -> str:
    """A hash made by a fresh interpreter, as a production process makes one."""
    result = subprocess.run(
        [sys.executable, "-c", HASH_IN_A_FRESH_PROCESS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_a_process_left_alone_hashes_with_rfc_9106_low_memory_argon2id(production_hash: str) -> None:
    assert production_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), production_hash


def test_a_production_hash_still_verifies_under_another_profile(production_hash: str) -> None:
    """Each hash carries its own parameters: lowering or raising the cost locks nobody out."""
    assert passwords.current_profile() != passwords.PRODUCTION_PROFILE
    assert passwords.verify_password(production_hash, PASSWORD)
    assert not passwords.verify_password(production_hash, "correct horse battery!")
    assert not passwords.verify_password(None, PASSWORD)
