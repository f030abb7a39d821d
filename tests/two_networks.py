"""Two deployments side by side for tests of issue 21: the private network's app (`internal`) and
the extranet's (`public`), each with its own database, key pairs for both directions, drop
directories, and a stand-in for the gateway that moves finished bundles across."""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import create_app
from core.exchange import keys
from core.extensions import db
from tests.conftest import POSTGRES_SKIP


def database_pair(backend: str, tmp_path: Path):
    """A generator of two empty database URLs of `backend`, dropped when it is closed."""
    if backend == "sqlite":
        yield [f"sqlite:///{tmp_path / name}.db" for name in ("internal", "public")]
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP)
    names = [f"emreserve_net_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield [make_url(base).set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class TwoNetworks:
    def __init__(self, urls, root: Path, **extra):
        self.root = root
        keydir = root / "keys"
        keys.generate(keydir, "outbound")
        keys.generate(keydir, "inbound")
        self.dirs = {
            side: {part: root / side / part for part in ("outbox", "inbox", "archive")}
            for side in ("internal", "public")
        }
        self.internal = self._app(urls[0], "internal", keydir / "outbound.key",
                                  keydir / "inbound.pub", **extra)  # fmt: skip
        self.public = self._app(urls[1], "public", keydir / "inbound.key",
                                keydir / "outbound.pub", **extra)  # fmt: skip

    def _app(self, url, role, signing, verify, **extra):
        dirs = self.dirs[role]
        app = create_app(
            {
                "APP_ENV": "test",
                "SQLALCHEMY_DATABASE_URI": url,
                "DEPLOYMENT_ROLE": role,
                "EXCHANGE_OUTBOX_DIR": str(dirs["outbox"]),
                "EXCHANGE_INBOX_DIR": str(dirs["inbox"]),
                "EXCHANGE_ARCHIVE_DIR": str(dirs["archive"]),
                "EXCHANGE_SIGNING_KEY": str(signing),
                "EXCHANGE_VERIFY_KEYS": str(verify),
                "PORTAL_UPLOAD_DIR": str(self.root / role / "uploads"),
                **extra,
            }
        )
        with app.app_context():
            db.create_all()
            from core.demo import ensure_roles

            ensure_roles()  # what migration 0011 does in a database made by `flask db upgrade`
        return app

    def gateway(self) -> list[str]:
        """Move every finished bundle to the other side's inbox (what a 网闸 does)."""
        moved = []
        for source, target in (("internal", "public"), ("public", "internal")):
            outbox, inbox = self.dirs[source]["outbox"], self.dirs[target]["inbox"]
            inbox.mkdir(parents=True, exist_ok=True)
            for path in sorted(outbox.glob("*.emx")) if outbox.is_dir() else []:
                shutil.move(path, inbox / path.name)
                moved.append(path.name)
        return moved

    def run(self, app, function, *args, **kwargs):
        with app.app_context():
            return function(*args, **kwargs)

    def exchange(self) -> dict:
        """One round as the schedulers would do it: both send, the gateway moves, both receive."""
        from core.exchange.service import receive, send

        sent = {side: self.run(app, send) for side, app in self.sides()}
        moved = self.gateway()
        received = {side: self.run(app, receive) for side, app in self.sides()}
        return {"sent": sent, "moved": moved, "received": received}

    def sides(self):
        return (("internal", self.internal), ("public", self.public))

    def dispose(self):
        for _side, app in self.sides():
            with app.app_context():
                db.session.remove()
                db.drop_all()
                db.engine.dispose()
