"""Uploaded documents: checked by content (magic bytes) and size, stored outside the web root
(PORTAL_UPLOAD_DIR, by default <instance>/uploads) under a name the server chooses."""

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from core.errors import Invalid

from .. import rules


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    media_type: str
    size: int
    sha256: str


def upload_dir() -> Path:
    folder = current_app.config.get("PORTAL_UPLOAD_DIR") or os.path.join(
        current_app.instance_path, "uploads"
    )
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(current_app.config.get("PORTAL_UPLOAD_MAX_BYTES", 5 * 1024 * 1024))


def check_document(data: bytes, field: str = "licence") -> None:
    """Invalid (422, nothing stored) unless `data` is a PDF, PNG or JPEG within the size limit."""
    if problem := rules.upload_problem(data, max_bytes()):
        raise Invalid(
            _("The uploaded file was refused."),
            errors={
                field: [
                    _(problem),
                    _(
                        "Accepted: PDF, PNG or JPEG, at most %(mb)s MB.",
                        mb=max_bytes() // (1024 * 1024),
                    ),
                ]
            },
        )


def save_document(data: bytes) -> StoredFile:
    """Write a checked document; the name is random, the extension follows the content."""
    check_document(data)
    media_type, extension = rules.sniff_document(data[:16])
    name = f"{secrets.token_hex(16)}.{extension}"
    path = upload_dir() / name
    try:
        with open(path, "xb") as handle:  # never overwrite
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:  # e.g. no space left: leave no partial file behind
        path.unlink(missing_ok=True)
        raise
    return StoredFile(name, media_type, len(data), hashlib.sha256(data).hexdigest())


def path_of(stored_name: str) -> Path:
    path = (upload_dir() / stored_name).resolve()
    if path.parent != upload_dir().resolve():
        raise Invalid(_("Unknown document."))
    return path


def remove(stored_name: str) -> None:
    try:
        path_of(stored_name).unlink()
    except FileNotFoundError:
        pass


# --- a document kept across corrections of a form ----------------------------------------------
# A registration refused for another field keeps its checked licence under uploads/pending/;
# the form carries a signed token naming it (and the name the person chose), so the corrected
# form needs no second upload. Tokens expire after PENDING_SECONDS; older files are swept.

PENDING_SECONDS = 3600
_PENDING_SALT = "portal-pending-upload"


def _pending_dir() -> Path:
    path = upload_dir() / "pending"
    path.mkdir(exist_ok=True)
    return path


def _serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_PENDING_SALT)


def hold_pending(filename: str, data: bytes) -> str:
    """Keep a checked document for the next try of the form; returns the token naming it."""
    check_document(data)
    _sweep_pending()
    _media_type, extension = rules.sniff_document(data[:16])
    name = f"{secrets.token_hex(16)}.{extension}"
    with open(_pending_dir() / name, "xb") as handle:
        handle.write(data)
    return _serializer().dumps({"n": name, "f": (filename or "")[-200:]})


def pending(token: str | None) -> tuple[str, bytes] | None:
    """(the original file name, the bytes) a token names, or None (no token, forged, expired, gone)."""
    from itsdangerous import BadData

    if not token or len(token) > 1000:
        return None
    try:
        payload = _serializer().loads(token, max_age=PENDING_SECONDS)
        path = (_pending_dir() / payload["n"]).resolve()
    except (BadData, KeyError, TypeError):
        return None
    if path.parent != _pending_dir().resolve() or not path.is_file():
        return None
    return payload["f"], path.read_bytes()


def drop_pending(token: str | None) -> None:
    """Remove the file a token names once the form went through."""
    from itsdangerous import BadData

    try:
        name = _serializer().loads(token, max_age=PENDING_SECONDS)["n"] if token else None
    except (BadData, KeyError, TypeError):
        return
    if name and (path := (_pending_dir() / name).resolve()).parent == _pending_dir().resolve():
        path.unlink(missing_ok=True)


def _sweep_pending() -> None:
    import time

    limit = time.time() - 2 * PENDING_SECONDS
    for path in _pending_dir().iterdir():
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
