"""Bank-style mixed workload on the stock ledger from many threads, on SQLite and PostgreSQL.

Receipts (some opening the same new lot at the same time), issues, transfers both ways between
two depots, reservations, releases, dispatch-plan approvals (the same plan approved twice at
once, plans competing for the same lots, cancellations), API receipts sent twice with the same
`Idempotency-Key` (one after the other and at the same time) and the same stock report
uploaded and confirmed twice. Each thread has its own connection; every operation commits or
is refused whole (409/422). Afterwards: every lot's balances equal the sum of its movements,
none is negative, the rollups equal the lots, and each retried request was counted once.
"""

import csv
import io
import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.auth import ADMIN, COMMANDER, OPERATOR
from core.errors import Conflict, Invalid
from core.extensions import db as _db
from core.timeutil import utcnow
from dispatch.models import PlanVersion
from dispatch.services import approval, incidents, planning
from reserve.stock.models import Movement, StockLot, StockRollupAgency, StockRollupCity
from reserve.reporting import services as reporting
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from tests import factories

THREADS = 12
OPERATIONS_PER_THREAD = 30
LOT_NOS = ("A", "B", "C")
NEW_LOT_NOS = ("N1", "N2", "N3")  # opened by whichever receipt or transfer comes first


@pytest.fixture
def bank(app, committed):
    """One agency with two depots, tents in three lots in each, an operator, two commanders (a
    plan's author cannot approve it), an admin, an API token for the operator, and six
    incidents whose draft plans each want 120 tents from the depots."""
    from flask_security import hash_password

    from core.extensions import security
    from core.organisation import Agency

    with app.app_context():
        load_regions()
        agency = Agency(code="BANK", name="并发账本单位", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        people = {
            name: security.datastore.create_user(
                email=f"{name}@bank.example.org",
                roles=[role],
                password=hash_password("x-Y-123456"),
                agency_id=agency.id if role == OPERATOR else None,
            )
            for name, role in (
                ("operator", OPERATOR),
                ("author", COMMANDER),
                ("approver", COMMANDER),
                ("admin", ADMIN),
            )
        }
        _db.session.commit()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        depots = [
            factories.depot(agency.id, code, region)
            for code, region in (("BANK-D1", "140105"), ("BANK-D2", "140202"))
        ]
        for depot, (lat, lon) in zip(depots, ((37.86, 112.55), (40.08, 113.30))):
            depot.lat, depot.lon = lat, lon
        _db.session.commit()
        for depot in depots:
            for lot_no in LOT_NOS:
                ledger.record_receipt(
                    people["admin"],
                    depot_id=depot.id,
                    material_id=tent.id,
                    quantity=200,
                    facts=LotFacts(lot_no),
                )
        plans = []
        for n in range(6):
            incident = incidents.create_incident(
                people["author"],
                title=f"并发演练{n}",
                incident_type="natural_disaster",
                level="II",
                region_code="140100",
            )
            point = incidents.add_point(
                people["author"], incident.id, name="安置点", lat=37.7, lon=112.6, population=100
            )
            incidents.add_demand(
                people["author"],
                incident.id,
                point_id=point.id,
                material_id=tent.id,
                quantity=120,
                needed_by=utcnow() + timedelta(hours=24),
            )
            plans.append(planning.plan_incident(people["author"], incident.id).id)
        token = security.datastore.find_user(email="operator@bank.example.org").get_auth_token()
        _db.session.commit()
        return {
            "agency": agency.id,
            "tent": tent.id,
            "depots": [d.id for d in depots],
            "plans": plans,
            "token": token,
            **{name: user.id for name, user in people.items()},
        }


def _stock_report(quantity: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "depot_code",
            "material_code",
            "material_name",
            "lot_no",
            "quantity",
            "expiry_date",
            "production_date",
        ]
    )
    writer.writerow(["BANK-D1", "1010101001", "", "R", str(quantity), "", ""])
    return out.getvalue().encode()


class Tally:
    """What the threads did, under a lock: units received and issued by operations that
    succeeded, counts per operation and outcome, and anything unexpected."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = self.issued = 0
        self.outcomes: dict[str, int] = {}
        self.failures: list[str] = []
        self.api_keys: list[str] = []

    def count(self, name: str, outcome: str, received: int = 0, issued: int = 0):
        with self.lock:
            self.outcomes[f"{name} {outcome}"] = self.outcomes.get(f"{name} {outcome}", 0) + 1
            self.received += received
            self.issued += issued

    def fail(self, text: str):
        with self.lock:
            self.failures.append(text)


def _lot_id(depot_id: int, lot_no: str) -> int | None:
    return _db.session.scalar(select(StockLot.id).filter_by(depot_id=depot_id, lot_no=lot_no))


def _operation(app, bank, tally, rng, thread_no, step):
    """One random operation; returns nothing, records its outcome in `tally`."""
    operator, approver = factories.user(bank["operator"]), factories.user(bank["approver"])
    depot, other = rng.sample(bank["depots"], 2)
    quantity = rng.randint(1, 25)
    kind = rng.choices(
        ["receipt", "issue", "transfer", "reserve", "release", "approve", "cancel", "api"],
        weights=[3, 3, 3, 2, 2, 1, 1, 2],
    )[0]
    try:
        if kind == "receipt":
            lot_no = rng.choice(LOT_NOS + NEW_LOT_NOS)
            ledger.record_receipt(
                operator,
                depot_id=depot,
                material_id=bank["tent"],
                quantity=quantity,
                facts=LotFacts(lot_no),
            )
            tally.count(kind, "ok", received=quantity)
            return
        lot_id = _lot_id(depot, rng.choice(LOT_NOS + NEW_LOT_NOS)) or _lot_id(depot, "A")
        if kind == "issue":
            ledger.record_issue(operator, lot_id, quantity)
            tally.count(kind, "ok", issued=quantity)
            return
        if kind == "transfer":
            ledger.record_transfer(operator, lot_id, other, quantity)
        elif kind == "reserve":
            ledger.reserve_stock(operator, lot_id, quantity, reference=f"T{thread_no}")
        elif kind == "release":
            ledger.release_stock(operator, lot_id, quantity, reference=f"T{thread_no}")
        elif kind == "approve":
            approval.approve(approver, rng.choice(bank["plans"][1:]))  # the first is the pair's
        elif kind == "cancel":
            approval.cancel(approver, rng.choice(bank["plans"][1:]), reason="并发测试")
        elif kind == "api":
            _api_receipt(app, bank, tally, depot, quantity, f"t{thread_no}-{step}")
            return
        tally.count(kind, "ok")
    except (
        Conflict,
        Invalid,
    ) as exc:  # refused whole: the invariants below check that it changed nothing
        tally.count(kind, type(exc).__name__)
    finally:
        _db.session.rollback()  # end the read: on SQLite an open transaction holds the write lock


def _api_receipt(app, bank, tally, depot, quantity, key):
    """POST the same receipt twice with one Idempotency-Key: the second is a replay."""
    client = app.test_client()
    headers = {"Authentication-Token": bank["token"], "Idempotency-Key": key}
    body = {
        "depot_id": depot,
        "material_id": bank["tent"],
        "lot_no": "A",
        "quantity": quantity,
        "reference": key,
    }
    statuses = [
        client.post("/api/v1/stock/receipts", json=body, headers=headers).status_code
        for _ in range(2)
    ]
    if statuses != [201, 201]:
        tally.fail(f"API receipt {key}: {statuses}")
        return
    tally.count("api", "ok", received=quantity)
    with tally.lock:
        tally.api_keys.append(key)


def _same_key_at_once(app, bank, tally, barrier):
    """Two threads send one request with one key at the same moment: one runs, the other gets
    409 (still in progress) or the replay; the receipt is booked once."""
    client = app.test_client()
    headers = {"Authentication-Token": bank["token"], "Idempotency-Key": "shared-key"}
    body = {
        "depot_id": bank["depots"][0],
        "material_id": bank["tent"],
        "lot_no": "B",
        "quantity": 7,
        "reference": "shared-key",
    }
    barrier.wait()
    status = client.post("/api/v1/stock/receipts", json=body, headers=headers).status_code
    tally.count("same key at once", str(status))
    if status not in (201, 409):
        tally.fail(f"same key at once: {status}")


def _same_plan_at_once(app, bank, tally, barrier):
    approver = factories.user(bank["approver"])
    _db.session.commit()
    barrier.wait()
    try:
        approval.approve(approver, bank["plans"][0])
        tally.count("same plan at once", "approved")
    except Conflict:
        tally.count("same plan at once", "refused")
    finally:
        _db.session.rollback()


def _same_report_twice(app, bank, tally, barrier):
    """The same report file uploaded and confirmed by two threads at once."""
    operator = factories.user(bank["operator"])
    _db.session.commit()
    barrier.wait()
    try:
        submission = reporting.submit_file(
            operator,
            agency_id=bank["agency"],
            kind="stock",
            mode="incremental",
            filename="bank.csv",
            data=_stock_report(150),
        )
        reporting.confirm_submission(operator, submission.id, fingerprint=submission.fingerprint)
        tally.count("same report", "applied")
    except Conflict:
        tally.count("same report", "refused")
    finally:
        _db.session.rollback()


def test_mixed_workload_from_many_threads_keeps_the_ledger_exact(app, bank):
    tally = Tally()
    start = threading.Barrier(THREADS)

    def worker(thread_no):
        rng = random.Random(thread_no)
        with app.app_context():
            try:
                start.wait()
                if thread_no < 2:
                    _same_plan_at_once(app, bank, tally, pair_plan)
                elif thread_no < 4:
                    _same_key_at_once(app, bank, tally, pair_key)
                elif thread_no < 6:
                    _same_report_twice(app, bank, tally, pair_report)
                for step in range(OPERATIONS_PER_THREAD):
                    _operation(app, bank, tally, rng, thread_no, step)
            except Exception as exc:  # noqa: BLE001 - anything but a refusal is a failure to report
                tally.fail(f"thread {thread_no}: {exc!r}")
            finally:
                _db.session.remove()

    pair_plan, pair_key, pair_report = (
        threading.Barrier(2),
        threading.Barrier(2),
        threading.Barrier(2),
    )
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    print(
        "operations by outcome:", dict(sorted(tally.outcomes.items()))
    )  # shown with -s (docs/reliability.md)
    assert tally.failures == [], "\n".join(tally.failures)
    assert sum(tally.outcomes.values()) == THREADS * OPERATIONS_PER_THREAD + 6

    with app.app_context():
        lots = _db.session.execute(select(StockLot)).scalars().all()
        for lot in lots:
            on_hand, reserved = _db.session.execute(
                select(
                    func.coalesce(func.sum(Movement.on_hand_delta), 0),
                    func.coalesce(func.sum(Movement.reserved_delta), 0),
                ).where(Movement.lot_id == lot.id)
            ).one()
            assert (lot.on_hand, lot.reserved) == (on_hand, reserved), (lot.depot_id, lot.lot_no)
            assert 0 <= lot.reserved <= lot.on_hand, (lot.depot_id, lot.lot_no)
        for model in (StockRollupCity, StockRollupAgency):
            kept = _db.session.execute(
                select(func.sum(model.on_hand), func.sum(model.reserved))
            ).one()
            assert tuple(kept) == (
                sum(lot.on_hand for lot in lots),
                sum(lot.reserved for lot in lots),
            ), model

        # Units are conserved: 1,200 at the start, plus what succeeded in coming in, minus
        # what succeeded in going out (transfers move units, reservations only set them aside);
        # the report's lot R holds exactly what the report says, however often it came in.
        report_lot = _db.session.execute(select(StockLot).filter_by(lot_no="R")).scalar_one()
        assert report_lot.on_hand == 150
        total = sum(lot.on_hand for lot in lots)
        assert total == 1200 + tally.received - tally.issued + 150 + 7

        # Each API key was booked once, the shared one too; a plan is approved at most once.
        for key in tally.api_keys + ["shared-key"]:
            booked = _db.session.scalar(
                select(func.count()).select_from(Movement).where(Movement.reference == key)
            )
            assert booked == 1, key
        for plan_id in bank["plans"]:
            reserved = _db.session.scalar(
                select(func.coalesce(func.sum(Movement.reserved_delta), 0)).where(
                    Movement.reference == f"PLAN-{plan_id}"
                )
            )
            status = _db.session.get(PlanVersion, plan_id).status
            assert reserved == (120 if status == "approved" else 0), (plan_id, status, reserved)
    assert tally.outcomes.get("same plan at once approved") == 1
