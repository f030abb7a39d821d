"""Sealing and opening bundles. Pure: no Flask, no database, no clock (the caller gives `now`).

A bundle file is three parts separated by newlines:

    EMX1
    <base64 Ed25519 signature of the body>
    <body: UTF-8 JSON {"format", "direction", "seq", "created_at", "key_id", "items"}>

The signature covers the body's exact bytes, so the body is verified before it is parsed and
never re-serialised to check it. `items` maps a kind's name to what that kind collected.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = b"EMX1"
FORMAT = 1
OUTBOUND = "outbound"  # internal -> public: what is published
INBOUND = "inbound"  # public -> internal: what the public submitted
DIRECTIONS = (OUTBOUND, INBOUND)

# Why a bundle is refused (stored in the log, shown to administrators in Chinese by the service).
MALFORMED = "malformed"
TOO_LARGE = "too_large"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"
WRONG_DIRECTION = "wrong_direction"
REPLAYED = "replayed"
OUT_OF_ORDER = "out_of_order"  # a sequence number ahead of the next one: it waits
APPLY_FAILED = "apply_failed"


class Refused(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Bundle:
    direction: str
    seq: int
    created_at: str
    key_id: str
    items: dict
    digest: str  # SHA-256 of the whole file, for the log
    size: int


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    raw = public_key.public_bytes_raw()
    return hashlib.sha256(raw).hexdigest()[:16]


def seal(
    direction: str, seq: int, items: dict, signing_key: Ed25519PrivateKey, now: datetime
) -> bytes:
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    if seq < 1:
        raise ValueError("sequence numbers start at 1")
    body = json.dumps(
        {
            "format": FORMAT,
            "direction": direction,
            "seq": seq,
            "created_at": now.isoformat(timespec="seconds"),
            "key_id": key_id(signing_key.public_key()),
            "items": items,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    signature = base64.b64encode(signing_key.sign(body))
    return MAGIC + b"\n" + signature + b"\n" + body


def open_bundle(
    data: bytes, verify_keys: dict[str, Ed25519PublicKey], direction: str, max_bytes: int
) -> Bundle:
    """The verified bundle, or Refused: too large, malformed, signed by a key not held for this
    direction, signature not matching the body (tampered), or meant for the other direction."""
    if len(data) > max_bytes:
        raise Refused(TOO_LARGE, f"{len(data)} bytes > {max_bytes}")
    parts = data.split(b"\n", 2)
    if len(parts) != 3 or parts[0] != MAGIC:
        raise Refused(MALFORMED, "not a bundle file")
    try:
        signature = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise Refused(MALFORMED, "signature is not base64") from None
    body = parts[2]
    if not any(_verifies(key, signature, body) for key in verify_keys.values()):
        named = _claimed_key(body)
        if named and named not in verify_keys:
            raise Refused(UNKNOWN_KEY, f"signed with key {named}")
        raise Refused(BAD_SIGNATURE, "the signature does not match the content")
    try:
        fields = json.loads(body)
    except ValueError:
        raise Refused(MALFORMED, "the signed body is not JSON") from None
    _check_fields(fields, direction)
    return Bundle(
        direction=fields["direction"],
        seq=fields["seq"],
        created_at=fields["created_at"],
        key_id=fields["key_id"],
        items=fields["items"],
        digest=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _verifies(key: Ed25519PublicKey, signature: bytes, body: bytes) -> bool:
    try:
        key.verify(signature, body)
    except InvalidSignature:
        return False
    return True


def _claimed_key(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("key_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _check_fields(fields, direction: str) -> None:
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise Refused(MALFORMED, "unknown format")
    seq = fields.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise Refused(MALFORMED, "no sequence number")
    if not isinstance(fields.get("items"), dict) or not isinstance(fields.get("created_at"), str):
        raise Refused(MALFORMED, "no items")
    if fields.get("direction") != direction:
        raise Refused(WRONG_DIRECTION, f"a {fields.get('direction')!r} bundle")


def sequence_problem(seq: int, last_applied: int) -> str | None:
    """Whether a verified bundle is the next one: REPLAYED when already applied (or older),
    OUT_OF_ORDER when one before it is missing (it waits for it), None when it is next."""
    if seq <= last_applied:
        return REPLAYED
    if seq > last_applied + 1:
        return OUT_OF_ORDER
    return None
