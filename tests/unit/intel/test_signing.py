"""Ed25519 over canonical JSON: the same data signs to the same bytes on both sides."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from khusela.intel.signing import (
    canonical_json,
    generate_key,
    key_id,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    sign,
    verify,
)


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    assert (
        canonical_json({"b": [1, {"z": 1, "a": "é"}], "a": None})
        == '{"a":null,"b":[1,{"a":"é","z":1}]}'.encode()
    )
    assert canonical_json({"x": 1, "y": 2}) == canonical_json({"y": 2, "x": 1})
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("nan")})


def test_a_signature_verifies_only_for_the_same_data_and_key() -> None:
    key, other = generate_key(), generate_key()
    data = {"origin": "gauteng", "sequence": 7}
    signature = sign(data, key)
    assert verify({"sequence": 7, "origin": "gauteng"}, signature, key.public_key())
    assert not verify({"origin": "gauteng", "sequence": 8}, signature, key.public_key())
    assert not verify(data, signature, other.public_key())
    assert not verify(data, "not base64!", key.public_key())


def test_keys_survive_pem_exchange_with_and_without_a_password() -> None:
    key = generate_key()
    public = load_public_key(public_key_pem(key.public_key()))
    assert key_id(public) == key_id(key.public_key())
    assert len(key_id(public)) == 16
    locked = private_key_pem(key, b"correct horse")
    reloaded = load_private_key(locked, b"correct horse")
    assert verify({"a": 1}, sign({"a": 1}, reloaded), public)
    with pytest.raises(ValueError, match="cannot read the signing key"):
        load_private_key(locked, b"wrong")
    assert load_private_key(private_key_pem(key)).public_key() == key.public_key()


def test_keys_that_are_not_ed25519_or_not_pem_are_refused() -> None:
    ec = generate_private_key(SECP256R1())
    ec_pem = ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="must be an Ed25519 key"):
        load_private_key(ec_pem)
    ec_public = ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="must be an Ed25519 public key"):
        load_public_key(ec_public)
    with pytest.raises(ValueError, match="cannot read the partner's public key"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
