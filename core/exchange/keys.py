"""Ed25519 key pairs of the exchange. One pair per direction: the sending side holds the private
key, the receiving side only the public one, so a compromised public deployment cannot forge what
the internal one publishes, and the reverse. Rotation: the sender switches to a new private key;
the receiver lists the new public key beside the old one until the old key's bundles are through
(docs/operations.md, "Two networks: keys")."""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .bundles import key_id


class KeyProblem(Exception):
    """A key file that is missing, unreadable, of the wrong kind, or readable by others."""


def generate(directory: str | Path, name: str) -> tuple[Path, Path]:
    """Write `<name>.key` (private, mode 0600, never overwritten) and `<name>.pub`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    if private_path.exists() or public_path.exists():
        raise KeyProblem(f"{private_path} or {public_path} exists already: choose another name")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def load_private(path: str | Path) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        if path.stat().st_mode & 0o077:
            raise KeyProblem(f"{path} is readable by others: chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise KeyProblem(f"{path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{path} is not an Ed25519 private key")
    return key


def load_public(paths: str | list) -> dict[str, Ed25519PublicKey]:
    """The public keys of the files named (a list, or one string with commas), by key id."""
    if isinstance(paths, str):
        paths = [p.strip() for p in paths.split(",") if p.strip()]
    keys = {}
    for path in paths:
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise KeyProblem(f"{path}: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyProblem(f"{path} is not an Ed25519 public key")
        keys[key_id(key)] = key
    return keys
