"""A small world for the security suite: two agencies (A, the caller's own, and B, the other),
each with public, internal and restricted data whose text carries canary strings, plus one of
everything the routes take an id of (lots, movements, plans, submissions, warnings, grants,
clients, incidents, plan versions, shipments, suppliers, board offers, feedback, notices).

A response leaks when it carries a canary its caller may not read (core/scoping.py):
anonymous callers see no internal or restricted text; suppliers (pending or approved) nothing of
the registry, public rows included (core/gate.py); an operator of A nothing of B's
internal or restricted rows; viewers and administrators of A nothing of B's restricted rows.
"""

import io
from datetime import timedelta

from core.auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER, User
from core.extensions import db
from core.timeutil import utcnow
from dispatch.services import approval, consultation, incidents, plan_jobs, planning
from public_site.services import board, feedback, notices
from reserve.models import Material, MaterialAlias, TransportCapacity
from reserve.reporting import services as reporting
from reserve.services import plans
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from reserve.services.reference import load_regions
from reserve.sharing import clients as sharing_clients
from reserve.sharing import services as sharing
from reserve.warnings import services as warnings
from tests import factories
from tests.conftest import csrf_token
from tests.public_site.portal_helpers import PNG, registration

APPROVED_SUPPLIER = "supplier_approved"  # a supplier account whose registration was approved
ROLES = (ADMIN, OPERATOR, COMMANDER, VIEWER, SUPPLIER, APPROVED_SUPPLIER, "anonymous", AGENCY_ADMIN)
SUPPLIERS = (SUPPLIER, APPROVED_SUPPLIER)


def canary(agency: str, classification: str) -> str:
    return f"CANARY{agency}{classification[:3].upper()}"  # e.g. CANARYBRES: letters only, survives any escaping


CANARIES = {(a, c): canary(a, c) for a in "AB" for c in ("public", "internal", "restricted")}


def forbidden_canaries(role: str) -> set[str]:
    """The canaries a user of agency A with `role` must never receive."""
    hidden = {
        ADMIN: [("B", "restricted")],
        VIEWER: [("B", "restricted")],
        OPERATOR: [("B", "restricted"), ("B", "internal")],
        COMMANDER: [],
        SUPPLIER: list(CANARIES),
        APPROVED_SUPPLIER: list(CANARIES),
        AGENCY_ADMIN: [
            (a, c) for a in "AB" for c in ("internal", "restricted")
        ],  # manages accounts, reads no data
        "anonymous": [(a, c) for a in "AB" for c in ("internal", "restricted")],
    }[role]
    return {CANARIES[key] for key in hidden}


def _agency_data(app, code_prefix: str, agency_id: int, admin, tent, water) -> dict:
    """Depots, lots, movements, transport, a plan, an alias and a submission of one agency."""
    ids = {}
    for n, cls in enumerate(("public", "internal", "restricted")):
        mark = CANARIES[(code_prefix, cls)]
        depot = factories.depot(agency_id, f"D{code_prefix}{n}", "140105", classification=cls)
        depot.name, depot.address, depot.contact_name = f"{mark} depot", f"{mark} road", mark[:50]
        depot.lat, depot.lon = 37.8 + n / 10, 112.5 + n / 10
        db.session.add(
            TransportCapacity(
                agency_id=agency_id,
                depot_id=depot.id,
                mode="road",
                vehicle_type=mark,
                count=3,
                payload_t=10.0,
                base=f"{mark} base",
                classification=cls,
            )
        )
        db.session.commit()
        expiry = utcnow().date() + (
            timedelta(days=-5) if cls == "restricted" else timedelta(days=800)
        )
        receipt = ledger.record_receipt(
            admin,
            depot_id=depot.id,
            material_id=tent.id,
            quantity=100,
            facts=LotFacts(f"{mark}-LOT", expiry_date=expiry, enterprise_name=mark),
            reason=f"{mark} receipt",
            reference=mark,
        )
        ledger.record_receipt(
            admin,
            depot_id=depot.id,
            material_id=water.id,
            quantity=50,
            facts=LotFacts(f"{mark}-W"),
            reason=f"{mark} water",
        )
        issue = ledger.record_issue(
            admin, receipt.lot_id, 5, reason=f"{mark} issue", reference=mark
        )
        ids[cls] = {"depot": depot.id, "lot": receipt.lot_id, "movement": issue.id}
    ids["transport"] = db.session.scalar(
        db.select(TransportCapacity.id).filter_by(agency_id=agency_id, classification="restricted")
    )
    plan = plans.create_plan(
        admin,
        agency_id=agency_id,
        name=f"{CANARIES[(code_prefix, 'restricted')]} plan",
        incident_type="natural_disaster",
        level="II",
        region_code="140100",
        classification="restricted",
    )
    ids["plan"] = plan.id
    submission = reporting.submit_rows(
        admin,
        agency_id=agency_id,
        kind="stock",
        mode="incremental",
        confirm=False,
        items=[
            {
                "depot_code": f"D{code_prefix}2",
                "material_code": tent.code,
                "lot_no": f"{CANARIES[(code_prefix, 'restricted')]}-SUB",
                "quantity": 7,
            }
        ],
    )
    ids["submission"] = submission.id
    return ids


def build_world(app, client, make_agency, make_user) -> dict:
    """Everything above; returns ids and the e-mail of one user per role (of agency A)."""
    a = make_agency("ACL-A", name="A 应急局")
    b = make_agency("ACL-B", name="B 应急局")
    emails = {
        role: make_user(role, agency=a)["email"]
        for role in ROLES
        if role not in ("anonymous", *SUPPLIERS)
    }
    helpers = {
        "b_operator": make_user(OPERATOR, agency=b),
        "approver": make_user(COMMANDER, agency=a),
        "setup": make_user(ADMIN, COMMANDER, agency=None),
    }
    with app.app_context():
        load_regions()
        admin = factories.user(helpers["setup"]["id"])
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        water = factories.catalog_material("002", "矿泉水", weight_kg=12)
        world = {
            "A": a,
            "B": b,
            "tent": tent.id,
            "water": water.id,
            "emails": emails,
            "a": _agency_data(app, "A", a, admin, tent, water),
            "b": _agency_data(app, "B", b, admin, tent, water),
        }
        for side, agency in (("a", a), ("b", b)):
            alias = MaterialAlias(
                agency_id=agency,
                alias=f"{CANARIES[(side.upper(), 'internal')]} alias",
                material_id=tent.id,
            )
            db.session.add(alias)
            db.session.commit()
            world[side]["alias"] = alias.id
        _sharing(world, helpers)
        _warnings(world)
        _dispatch(world, emails, helpers, tent)
        _rotation(world, admin)
        _exports(world, emails, helpers)
        _portal(world, admin, tent)
    _supplier(app, world, app.test_client())
    _approved_supplier(app, world, app.test_client(), helpers)
    _credit(app, world)
    with app.app_context():
        _supply_call(world, helpers)
    return world


def _supply_call(world, helpers):
    """供需发布 (issue 19): a published call of the incident with the approved enterprise's
    pending offer, for /supply-calls/{call_id} and /call-offers/{call_offer_id}."""
    from dispatch.models import SupplyCall
    from public_site.models import Supplier

    setup = factories.user(helpers["setup"]["id"])
    call = SupplyCall(
        incident_id=world["incident"],
        plan_id=world["version"],
        point_id=world["point"],
        material_id=world["tent"],
        quantity=40,
        region_code="140100",
        deadline=utcnow() + timedelta(days=2),
        title="太原市急需单帐篷",
        text="太原市急需单帐篷40顶",
        status="published",
        drafted_by_id=setup.id,
        approved_by_id=setup.id,
    )
    material = db.session.get(Material, world["tent"])
    call.board_demand = board.add_incident_demand(
        setup,
        title=call.title,
        material=material,
        quantity=40,
        region_code="140100",
        needed_by=None,
        text=call.text,
        ref=str(world["incident"]),
    )
    db.session.add(call)
    db.session.commit()
    enterprise = db.session.execute(
        db.select(User).filter_by(email=world["emails"][APPROVED_SUPPLIER])
    ).scalar_one()
    assert db.session.scalar(db.select(Supplier.status).filter_by(user_id=enterprise.id)) == (
        "approved"
    )
    offer = board.answer_call(
        enterprise, call.board_demand_id, quantity=10, lead_time_h=6, from_region_code="140100"
    )
    world.update(supply_call=call.id, call_offer=offer.id, call_demand=call.board_demand_id)


def _sharing(world, helpers):
    b_operator = factories.user(helpers["b_operator"]["id"])
    admin = factories.user(helpers["setup"]["id"])
    today = utcnow().date()
    sharing.set_attribute(
        admin, world["B"], "stock", attribute="conditional", legal_reason="内部管理"
    )
    sharing.set_attribute(
        admin, world["A"], "stock", attribute="conditional", legal_reason="内部管理"
    )
    operator_a = db.session.execute(
        db.select(User).filter_by(email=world["emails"][OPERATOR])
    ).scalar_one()
    mine = sharing.request_grant(
        operator_a,
        owner_agency_id=world["B"],
        kind="stock",
        purpose="演练",
        fields=["lot_no"],
        requested_from=today,
        requested_to=today + timedelta(days=30),
        today=today,
    )
    theirs = sharing.request_grant(
        b_operator,
        owner_agency_id=world["A"],
        kind="stock",
        purpose="演练",
        fields=["lot_no"],
        requested_from=today,
        requested_to=today + timedelta(days=30),
        today=today,
    )
    world["a"]["grant"], world["b"]["grant"] = (
        theirs.id,
        mine.id,
    )  # "own" grant: the one over A's data
    for side, agency in (("a", world["A"]), ("b", world["B"])):
        client, _token = sharing_clients.register_client(
            admin, name=f"system {side}", agency_id=agency, scopes=["read:stock"]
        )
        world[side]["client"] = client.id


def _warnings(world):
    warnings.scan(utcnow())
    from reserve.warnings.models import Notification, ReserveWarning

    for side, agency in (("a", world["A"]), ("b", world["B"])):
        world[side]["warning"] = db.session.scalar(
            db.select(ReserveWarning.id).filter_by(agency_id=agency).order_by(ReserveWarning.id)
        )
    world["notification"] = db.session.scalar(db.select(Notification.id).order_by(Notification.id))


def _rotation(world, admin):
    """A rotation item of each side from its first warning (the restricted lot, expired: a
    replacement), with one step booked: 1 unit out, 1 of a new lot in. Its pages name the lot
    (a canary); what it adds to the audit log carries none (administrators read every change)."""
    from reserve.rotation import completion
    from reserve.rotation import services as rotation

    for side in ("a", "b"):
        [item] = rotation.create_from_warnings(
            admin, [world[side]["warning"]], responsible="probe"
        )["created"]
        completion.complete_step(
            admin,
            item.id,
            completion.StepInput(1, replacement_lot_no=f"ROT-{side}"),
        )
        world[side]["rotation_item"] = item.id
        world[side]["rotation_step"] = item.steps[0].id


def _exports(world, emails, helpers):
    """h-exports: a finished export of each side, with its file: A's by the operator of A (A's
    restricted canary inside), B's by B's operator (B's internal and restricted canaries)."""
    from core.background import BackgroundJob
    from core.export_jobs import ExportFile

    owners = {
        "a": db.session.execute(db.select(User).filter_by(email=emails[OPERATOR])).scalar_one().id,
        "b": helpers["b_operator"]["id"],
    }
    for side, owner in owners.items():
        marks = [CANARIES[(side.upper(), "restricted")]] + (
            [CANARIES[("B", "internal")]] if side == "b" else []
        )
        job = BackgroundJob(
            kind="export",
            status="done",
            user_id=owner,
            progress=100,
            step="Done",
            attempts=1,
            cancel_requested=False,
            result={},
            finished_at=utcnow(),
            params={"export": "stock", "format": "csv", "filters": {}, "today": "2026-01-01"},
        )
        db.session.add(job)
        db.session.flush()
        body = ("lot_no\n" + "\n".join(f"{mark}-LOT" for mark in marks) + "\n").encode()
        db.session.add(
            ExportFile(
                job_id=job.id,
                user_id=owner,
                filename="stock-20260101.csv",
                mimetype="text/csv",
                size=len(body),
                rows=len(marks),
                content=body,
                created_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=24),
            )
        )
        db.session.commit()
        world[side]["export_job"] = job.id


def _dispatch(world, emails, helpers, tent):
    author = db.session.execute(db.select(User).filter_by(email=emails[COMMANDER])).scalar_one()
    approver = factories.user(helpers["approver"]["id"])
    incident = incidents.create_incident(
        author, title="测试地震", incident_type="natural_disaster", level="II", region_code="140100"
    )
    point = incidents.add_point(
        author, incident.id, name="安置点", lat=37.74, lon=112.56, population=5000
    )
    demand = incidents.add_demand(
        author,
        incident.id,
        point_id=point.id,
        material_id=tent.id,
        quantity=500,
        needed_by=utcnow() + timedelta(hours=24),
    )
    approved = planning.plan_incident(author, incident.id)
    approval.approve(approver, approved.id)
    draft = planning.plan_incident(author, incident.id)
    consultation.post_message(author, incident.id, "会商")
    from dispatch.models import PlanLine, Shipment

    world.update(
        incident=incident.id,
        point=point.id,
        demand=demand.id,
        version=draft.id,
        approved_version=approved.id,
    )
    # h-jobs: a queued planning job (core/background.py) for /plan-jobs/{job_id}
    world["job"] = plan_jobs.plan_in_background(author, incident.id).id
    _loads(world, author, approver, approved)
    for side, agency in (("a", world["A"]), ("b", world["B"])):
        world[side]["line"] = db.session.scalar(
            db.select(PlanLine.id).filter_by(agency_id=agency).order_by(PlanLine.plan_id.desc())
        )
        world[side]["shipment"] = db.session.scalar(
            db.select(Shipment.id).filter_by(agency_id=agency)
        )


def _loads(world, author, approver, approved):
    """装车方案: a version of the approved plan, adopted (a trip per side's depot vehicles),
    a newer proposal, and a known road time."""
    from dispatch.models import Trip
    from dispatch.services import loads, road_times, trips

    first = loads.route_or_queue(author, approved.id)
    trips.adopt(approver, first.id)
    world["route_plan"] = loads.route_or_queue(author, approved.id).id
    for side, agency in (("a", world["A"]), ("b", world["B"])):
        trip = (
            db.session.execute(db.select(Trip).filter_by(agency_id=agency).order_by(Trip.id))
            .scalars()
            .first()
        )
        world[side]["trip"] = trip.id
        world[side]["stop"] = trip.stops[0].id
    world["road_time"] = road_times.set_road_time(
        author,
        from_key=f"D{world['a']['public']['depot']}",
        to_key=f"P{world['point']}",
        hours=1.5,
        km=60,
    ).id


def _portal(world, admin, tent):
    notice = notices.create_notice(admin, kind="notice", title="通知", body="正文", published=True)
    demand = board.create_demand(
        admin, title="求助帐篷", unit="顶", quantity=10, material_id=tent.id
    )
    offer = board.offer_supply(
        None, demand.id, offerer_name="好心人", contact="13900000000", quantity=2
    )
    item = feedback.submit_feedback(category="suggestion", text="建议", contact="x@example.org")
    world.update(notice=notice.id, board_demand=demand.id, board_offer=offer.id, feedback=item.id)


def _supplier(app, world, client):
    """One registration through the portal (it makes the supplier account and its document)."""
    page = client.get("/portal/register")
    data = {
        **registration({"tent": world["tent"]}, email="supplier-acl@example.org"),
        "csrf_token": csrf_token(page.text),
        "licence": (io.BytesIO(PNG), "licence.png"),
    }
    response = client.post("/portal/register", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.text
    from public_site.models import Supplier, SupplierDocument, SupplierOffer

    with app.app_context():
        world.update(
            supplier=db.session.scalar(db.select(Supplier.id)),
            supplier_offer=db.session.scalar(db.select(SupplierOffer.id)),
            document=db.session.scalar(db.select(SupplierDocument.id)),
        )
    world["emails"][SUPPLIER] = "supplier-acl@example.org"
    world["supplier_password"] = registration({"tent": 0})["password"]


def _approved_supplier(app, world, client, helpers):
    """A second enterprise, registered and approved: its account keeps the role `supplier`."""
    from stdnum.cn.uscc import calc_check_digit

    from public_site.models import Supplier
    from public_site.services import suppliers

    body = "91140100MA0K7C8X1"
    page = client.get("/portal/register")
    data = {
        **registration(
            {"tent": world["tent"]},
            email="supplier-ok@example.org",
            name="晋阳救灾物资有限公司",
            credit_code=body + calc_check_digit(body),
        ),
        "csrf_token": csrf_token(page.text),
        "licence": (io.BytesIO(PNG), "licence.png"),
    }
    response = client.post("/portal/register", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.text
    with app.app_context():
        supplier_id = db.session.scalar(
            db.select(Supplier.id).filter_by(credit_code=body + calc_check_digit(body))
        )
        suppliers.review_supplier(
            factories.user(helpers["setup"]["id"]), supplier_id, action="approve"
        )
    world["emails"][APPROVED_SUPPLIER] = "supplier-ok@example.org"


def _credit(app, world):
    """A credit list entry (an enterprise none of the world's suppliers is) and a hit of the
    daily check on it (issue 19 part 2)."""
    from stdnum.cn.uscc import calc_check_digit

    from reserve.credit import checks, services
    from reserve.credit.models import CreditEntry

    body = "91140100MA0K9D7Q2"
    with app.app_context():
        services.record_entries(
            [
                {
                    "credit_code": body + calc_check_digit(body),
                    "name": "失信演示企业",
                    "list": "失信",
                    "reason": "probe",
                    "authority": "太原市中级人民法院",
                    "start_date": "2026-01-01",
                    "end_date": None,
                }
            ],
            origin="import",
            origin_ref="world.csv",
            by_id=None,
        )
        entry = db.session.scalar(db.select(CreditEntry))
        checks.record_hits([checks.Finding(entry, "reserve", entry.credit_code, entry.name)])
        db.session.commit()
        world["credit_entry"] = entry.id
        world["credit_hit"] = db.session.scalar(db.text("SELECT max(id) FROM credit_hit"))
