"""`Idempotency-Key` for POST requests to the API.

Same client + same key + same request: the stored response is replayed (header
`Idempotent-Replayed: true`), the work is not done twice. Same key with another request: 422.
A key whose first request is still running: 409 with Retry-After; the first request counts as
running for IDEMPOTENCY_PENDING_SECONDS (kept above the worker timeout, so a request that is
still working is never run a second time), after that it is taken as dead and the retry runs.
Keys are scoped per client (user, or IP for anonymous callers) and forgotten after
IDEMPOTENCY_TTL. Server errors (5xx) are not stored, so a retry after one runs the request again.

"The same request" is the method, path, query and media type with the body; for a multipart
upload, the form fields and each file's field name, file name and content, not the raw body,
whose boundary a client draws anew for every attempt.
"""

import hashlib
from datetime import datetime, timedelta

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import JSON, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .errors import problem_response
from .extensions import db
from .timeutil import utcnow

HEADER = "Idempotency-Key"
MAX_STORED_BODY = 1_000_000


class IdempotencyRecord(db.Model):
    __audit__ = False
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_record_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status_code: Mapped[int | None]  # None while the first request is running
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict | None] = mapped_column(JSON)


def _client_scope() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode(), request.mimetype):
        digest.update(part.encode() + b"\0")
    if request.mimetype == "multipart/form-data":
        _digest_multipart(digest)
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _digest_multipart(digest) -> None:
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(b"F" + repr((name, value)).encode() + b"\0")
    for name, upload in sorted(
        request.files.items(multi=True), key=lambda item: (item[0], item[1].filename or "")
    ):
        digest.update(b"U" + repr((name, upload.filename)).encode() + b"\0")
        upload.stream.seek(0)
        while chunk := upload.stream.read(1 << 20):
            digest.update(chunk)
        upload.stream.seek(0)  # the view reads it again
        digest.update(b"\0")


def _in_progress():
    seconds = current_app.config["IDEMPOTENCY_PENDING_SECONDS"]
    return problem_response(
        409,
        detail=_(
            "A request with this Idempotency-Key is still being processed; "
            "retry in a few seconds to get its answer."
        ),
        code="idempotency-in-progress",
        headers={"Retry-After": str(min(5, seconds))},
    )


def _find(scope: str, key: str) -> IdempotencyRecord | None:
    return db.session.execute(
        select(IdempotencyRecord).filter_by(scope=scope, key=key)
    ).scalar_one_or_none()


def _replay(record: IdempotencyRecord):
    response = current_app.response_class(record.response_body or "", status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def before_request():
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or not request.path.startswith("/api/"):
        return None
    if not 1 <= len(key) <= 200:
        return problem_response(
            400, detail=_("Idempotency-Key must be 1 to 200 characters."), code="idempotency-key"
        )
    scope, fingerprint, now = _client_scope(), _fingerprint(), utcnow()
    record = _find(scope, key)
    if record is not None and now - record.created_at > current_app.config["IDEMPOTENCY_TTL"]:
        db.session.delete(record)
        db.session.commit()
        record = None
    if record is not None:
        return _existing(record, fingerprint, now)
    try:
        record = IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
        db.session.add(record)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _in_progress()
    g.idempotency_record_id = record.id
    return None


def _existing(record: IdempotencyRecord, fingerprint: str, now: datetime):
    if record.fingerprint != fingerprint:
        return problem_response(
            422,
            detail=_("This Idempotency-Key was already used for a different request."),
            code="idempotency-key-reused",
        )
    if record.status_code is not None:
        return _replay(record)
    if now - record.created_at < timedelta(
        seconds=current_app.config["IDEMPOTENCY_PENDING_SECONDS"]
    ):
        return _in_progress()
    # The first attempt died without answering: let this one run.
    record.created_at = now
    db.session.commit()
    g.idempotency_record_id = record.id
    return None


def after_request(response):
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    db.session.rollback()  # whatever the view left uncommitted is not ours to keep
    if response.status_code >= 500 or response.is_streamed:
        db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    else:
        body = response.get_data(as_text=True)
        record = db.session.get(IdempotencyRecord, record_id)
        record.status_code = response.status_code
        record.response_body = body if len(body) <= MAX_STORED_BODY else ""
        record.response_headers = {
            k: v for k, v in response.headers.items() if k.lower() in ("content-type", "location")
        }
    db.session.commit()
    return response


def init_idempotency(app):
    app.before_request(before_request)
    app.after_request(after_request)
