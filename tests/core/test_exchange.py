"""The exchange between the two networks (core/exchange/): bundles sealed on one side are applied
on the other exactly once and in order; a tampered, replayed, reordered or foreign bundle is
refused (or waits) and reported, and changes nothing. Two apps, two databases, two drop
directories moved by a stand-in for the gateway."""

import shutil
import stat
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import create_app
from core.exchange import bundles, keys
from core.exchange.bundles import INBOUND, OUTBOUND, Refused
from core.exchange.models import ExchangeCursor, ExchangeLog
from core.exchange.service import ExchangeKind, receive, send
from core.extensions import db
from public_site.models import Notice
from tests.two_networks import database_pair

NOW = datetime(2026, 12, 6, 4, 0)


# --- bundles, pure ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    return key, {bundles.key_id(key.public_key()): key.public_key()}


def test_a_sealed_bundle_opens_with_its_public_key(pair):
    key, public = pair
    data = bundles.seal(OUTBOUND, 3, {"notices": [{"id": 1, "title": "通知"}]}, key, NOW)
    bundle = bundles.open_bundle(data, public, OUTBOUND, 10_000)
    assert (bundle.seq, bundle.items) == (3, {"notices": [{"id": 1, "title": "通知"}]})
    assert bundle.size == len(data) and len(bundle.digest) == 64


@pytest.mark.parametrize("position", [-2, -30, 60])
def test_one_changed_byte_anywhere_in_the_body_is_refused(pair, position):
    key, public = pair
    data = bytearray(bundles.seal(OUTBOUND, 1, {"notices": [{"title": "通知 A"}]}, key, NOW))
    data[position] ^= 0x01
    with pytest.raises(Refused) as refused:
        bundles.open_bundle(bytes(data), public, OUTBOUND, 10_000)
    assert refused.value.reason in {bundles.BAD_SIGNATURE, bundles.MALFORMED}


def test_a_bundle_signed_by_another_key_is_refused(pair):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _, public = pair
    stranger = Ed25519PrivateKey.generate()
    data = bundles.seal(OUTBOUND, 1, {}, stranger, NOW)
    with pytest.raises(Refused) as refused:
        bundles.open_bundle(data, public, OUTBOUND, 10_000)
    assert refused.value.reason == bundles.UNKNOWN_KEY


def test_a_bundle_for_the_other_direction_is_refused(pair):
    key, public = pair
    data = bundles.seal(INBOUND, 1, {}, key, NOW)
    with pytest.raises(Refused) as refused:
        bundles.open_bundle(data, public, OUTBOUND, 10_000)
    assert refused.value.reason == bundles.WRONG_DIRECTION


@pytest.mark.parametrize(
    "data", [b"", b"EMX1", b"hello\nworld\n{}", b"EMX1\n!!notbase64!!\n{}", b"PK\x03\x04zip"]
)
def test_what_is_no_bundle_is_refused_as_malformed(pair, data):
    with pytest.raises(Refused) as refused:
        bundles.open_bundle(data, pair[1], OUTBOUND, 10_000)
    assert refused.value.reason in {bundles.MALFORMED, bundles.BAD_SIGNATURE}


def test_a_bundle_over_the_size_bound_is_refused_before_it_is_read(pair):
    key, public = pair
    data = bundles.seal(OUTBOUND, 1, {"x": "a" * 5000}, key, NOW)
    with pytest.raises(Refused) as refused:
        bundles.open_bundle(data, public, OUTBOUND, 1000)
    assert refused.value.reason == bundles.TOO_LARGE


def test_only_the_next_sequence_number_applies():
    assert bundles.sequence_problem(5, 4) is None
    assert bundles.sequence_problem(4, 4) == bundles.REPLAYED
    assert bundles.sequence_problem(1, 4) == bundles.REPLAYED
    assert bundles.sequence_problem(7, 4) == bundles.OUT_OF_ORDER


def test_keys_are_written_private_and_never_overwritten(tmp_path):
    private_path, public_path = keys.generate(tmp_path, "outbound-2026")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert len(keys.load_public([str(public_path)])) == 1
    keys.load_private(private_path)
    with pytest.raises(keys.KeyProblem):
        keys.generate(tmp_path, "outbound-2026")
    private_path.chmod(0o644)
    with pytest.raises(keys.KeyProblem, match="readable by others"):
        keys.load_private(private_path)


# --- two apps, two databases -----------------------------------------------------------------


def _kinds():
    """A kind that publishes the internal side's published notices, as a whole each time they
    change, and replaces the public side's with them (the portal's real kinds: public_site)."""

    def collect(state):
        rows = db.session.execute(select(Notice).where(Notice.published.is_(True))).scalars()
        items = [{"id": n.id, "kind": n.kind, "title": n.title, "body": n.body} for n in rows]
        digest = str(hash(repr(items)))
        return None if state.get("digest") == digest else (items, {"digest": digest})

    def apply(items):
        db.session.execute(Notice.__table__.delete())
        for item in items:
            db.session.add(Notice(published=True, published_at=NOW, **item))
        db.session.flush()
        return len(items)

    return (ExchangeKind("notices", OUTBOUND, collect, apply),)


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request, tmp_path):
    pair = database_pair(request.param, tmp_path)
    yield next(pair)
    pair.close()


class Sides:
    """The internal and the public app, their drop directories, and the gateway between them."""

    def __init__(self, urls, tmp_path: Path):
        self.dirs = {name: tmp_path / name for name in ("in-out", "pub-in", "in-archive")}
        keydir = tmp_path / "keys"
        keys.generate(keydir, "outbound")
        self.internal = self._app(
            urls[0],
            "internal",
            EXCHANGE_OUTBOX_DIR=str(self.dirs["in-out"]),
            EXCHANGE_ARCHIVE_DIR=str(self.dirs["in-archive"]),
            EXCHANGE_SIGNING_KEY=str(keydir / "outbound.key"),
        )
        self.public = self._app(
            urls[1],
            "public",
            EXCHANGE_INBOX_DIR=str(self.dirs["pub-in"]),
            EXCHANGE_VERIFY_KEYS=str(keydir / "outbound.pub"),
        )

    @staticmethod
    def _app(url, role, **config):
        app = create_app(
            {"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "DEPLOYMENT_ROLE": role, **config}
        )
        with app.app_context():
            db.create_all()
        return app

    def gateway(self) -> list[str]:
        """Move every finished bundle from the internal outbox to the public inbox."""
        inbox = self.dirs["pub-in"]
        inbox.mkdir(exist_ok=True)
        moved = []
        for path in sorted(self.dirs["in-out"].glob("*.emx")):
            shutil.move(path, inbox / path.name)
            moved.append(path.name)
        return moved

    def publish_notice(self, title):
        with self.internal.app_context():
            db.session.add(Notice(kind="notice", title=title, body="正文", published=True))
            db.session.commit()
            return send(NOW, declared=_kinds())

    def receive(self):
        with self.public.app_context():
            return receive(NOW, declared=_kinds())

    def public_titles(self):
        with self.public.app_context():
            return sorted(db.session.execute(select(Notice.title)).scalars())

    def public_log(self):
        with self.public.app_context():
            rows = db.session.execute(select(ExchangeLog).order_by(ExchangeLog.id)).scalars()
            return [(r.seq, r.status, r.reason) for r in rows]

    def dispose(self):
        for app in (self.internal, self.public):
            with app.app_context():
                db.session.remove()
                db.drop_all()
                db.engine.dispose()


@pytest.fixture
def sides(databases, tmp_path):
    sides = Sides(databases, tmp_path)
    yield sides
    sides.dispose()


def test_a_published_notice_crosses_once_and_in_order(sides):
    assert sides.publish_notice("第一条")["seq"] == 1
    assert sides.gateway() == ["outbound-000000000001.emx"]
    assert sides.receive()["applied"] == 1
    assert sides.public_titles() == ["第一条"]
    with sides.internal.app_context():
        assert send(NOW, declared=_kinds()) == {"sent": 0}  # nothing new: no bundle
    assert sides.publish_notice("第二条")["seq"] == 2
    sides.gateway()
    assert sides.receive()["applied"] == 1
    assert sides.public_titles() == ["第一条", "第二条"]
    assert sides.public_log() == [(1, "applied", None), (2, "applied", None)]


def test_a_replayed_bundle_is_refused_and_changes_nothing(sides):
    sides.publish_notice("第一条")
    (name,) = sides.gateway()
    copy = (sides.dirs["pub-in"] / name).read_bytes()
    sides.receive()
    with sides.public.app_context():
        db.session.execute(Notice.__table__.delete())  # so a replay would show
        db.session.commit()
    (sides.dirs["pub-in"] / name).write_bytes(copy)
    assert sides.receive()["refused"] == 1
    assert sides.public_titles() == []
    assert sides.public_log()[-1] == (1, "refused", "replayed")
    assert (
        (sides.dirs["pub-in"] / "rejected" / f"{name}.why.txt").read_text().startswith("replayed")
    )


def test_a_bundle_ahead_of_its_turn_waits_for_the_missing_one(sides):
    sides.publish_notice("第一条")
    held = sides.dirs["in-out"] / "outbound-000000000001.emx"
    kept = held.read_bytes()
    held.unlink()  # the gateway lost it for now
    sides.publish_notice("第二条")
    sides.gateway()
    assert sides.receive() == {"applied": 0, "refused": 0, "waiting": 1}
    assert sides.public_titles() == []
    (sides.dirs["pub-in"] / "outbound-000000000001.emx").write_bytes(kept)
    assert sides.receive()["applied"] == 2
    assert sides.public_titles() == ["第一条", "第二条"]
    assert [row[:2] for row in sides.public_log()] == [
        (2, "waiting"),
        (1, "applied"),
        (2, "applied"),
    ]


def test_a_tampered_bundle_is_refused_and_a_resend_goes_through(sides):
    sides.publish_notice("第一条")
    (name,) = sides.gateway()
    path = sides.dirs["pub-in"] / name
    path.write_bytes(path.read_bytes().replace("第一条".encode(), "第九条".encode()))
    assert sides.receive()["refused"] == 1
    assert sides.public_titles() == []
    assert sides.public_log() == [(None, "refused", "bad_signature")]
    with sides.internal.app_context():
        from core.exchange.service import resend

        resend(1)
    sides.gateway()
    assert sides.receive()["applied"] == 1
    assert sides.public_titles() == ["第一条"]


def test_a_failing_apply_refuses_the_whole_bundle_and_keeps_the_cursor(sides, monkeypatch):
    sides.publish_notice("第一条")
    sides.gateway()

    def broken(items):
        db.session.add(Notice(kind="notice", title="半条", body="", published=True))
        db.session.flush()
        raise ValueError("a kind that cannot apply")

    kind = ExchangeKind("notices", OUTBOUND, lambda state: None, broken)
    with sides.public.app_context():
        assert receive(NOW, declared=(kind,))["refused"] == 1
        cursor = db.session.execute(select(ExchangeCursor)).scalar_one_or_none()
        assert cursor is None or cursor.seq == 0
    assert sides.public_titles() == []  # the half-applied row went with the refusal


def test_a_file_that_is_no_bundle_is_moved_aside(sides):
    inbox = sides.dirs["pub-in"]
    inbox.mkdir()
    (inbox / "outbound-000000000001.emx").write_bytes(b"not a bundle")
    assert sides.receive()["refused"] == 1
    assert (inbox / "rejected" / "outbound-000000000001.emx").exists()
    with sides.public.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExchangeLog)) == 1


def test_a_sender_stopped_before_its_rename_finishes_it_on_the_next_run(sides, monkeypatch):
    from core.exchange import transport

    monkeypatch.setattr(transport, "publish", lambda pending, archive: pending)
    sides.publish_notice("第一条")  # committed, file still pending
    monkeypatch.undo()
    assert sides.gateway() == []
    with sides.internal.app_context():
        assert send(NOW, declared=_kinds()) == {"sent": 0}
    assert sides.gateway() == ["outbound-000000000001.emx"]
    sides.receive()
    assert sides.public_titles() == ["第一条"]


def test_the_combined_role_exchanges_nothing(app):
    with app.app_context(), pytest.raises(RuntimeError, match="combined"):
        send(NOW, declared=_kinds())


def test_an_unknown_role_stops_the_start():
    with pytest.raises(RuntimeError, match="DEPLOYMENT_ROLE"):
        create_app({"APP_ENV": "test", "DEPLOYMENT_ROLE": "both"})


def test_keys_given_to_the_wrong_side_are_refused_at_send(sides, tmp_path):
    pub = tmp_path / "keys" / "outbound.pub"
    with sides.internal.app_context():
        sides.internal.config["EXCHANGE_SIGNING_KEY"] = str(pub)
        with pytest.raises(keys.KeyProblem):
            send(NOW, declared=_kinds())


def test_an_event_that_commits_after_a_higher_id_was_sent_is_still_sent(sides):
    from core.exchange.service import sent_state, unsent
    from public_site.models import Feedback

    with sides.public.app_context():
        for ident in (1, 3):
            db.session.add(Feedback(id=ident, category="question", text=f"留言 {ident} 号"))
        db.session.commit()
        first = unsent(Feedback, {}, 100)
        state = sent_state({}, first)
        assert [row.id for row in first] == [1, 3] and state == {"high": 3, "recent": [1, 3]}
        assert unsent(Feedback, state, 100) == []  # nothing new: nothing sent again
        db.session.add(Feedback(id=2, category="question", text="晚提交的留言"))  # committed late
        db.session.commit()
        assert [row.id for row in unsent(Feedback, state, 100)] == [2]
