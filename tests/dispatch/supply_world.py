"""A small world for the calls for supply (供需发布): one agency and its depot in Taiyuan with 50
tents (the depot's name and a restricted lot are canaries that must never reach the portal), an
incident whose point needs 120 tents (70 unmet), two commanders, an administrator, an operator,
and enterprises in every review state. Used by the service tests and the browser journey."""

from datetime import timedelta

from core.auth import ADMIN, COMMANDER, OPERATOR, SUPPLIER
from core.extensions import db
from core.timeutil import utcnow
from dispatch.services import incidents
from public_site.models import Supplier
from reserve.services.reference import load_regions
from reserve.stock import ledger
from reserve.stock.ledger import LotFacts
from tests import factories

DEPOT_CANARY = "CANARY-金库秘藏储备库"
RESTRICTED_UNITS = 4321  # a restricted lot's units: never on the portal
STATES = ("approved", "pending", "rejected", "changes_requested")


def build(app, make_agency, make_user) -> dict:
    agency = make_agency("SC-EAST", kind="city")
    people = {
        "author": make_user(COMMANDER),
        "approver": make_user(COMMANDER),
        "admin": make_user(ADMIN),
        "operator": make_user(OPERATOR, agency=agency),
    }
    enterprises = {state: make_user(SUPPLIER) for state in STATES}
    with app.app_context():
        load_regions()
        tent = factories.catalog_material("001", "单帐篷", weight_kg=30)
        depot = factories.depot(agency, "SC-D1", "140105")
        secret = factories.depot(agency, "SC-D2", "140105", classification="restricted")
        depot.lat, depot.lon = 37.86, 112.55
        secret.name, secret.lat, secret.lon = DEPOT_CANARY, 37.90, 112.60
        db.session.commit()
        operator = factories.user(people["operator"]["id"])
        ledger.record_receipt(
            operator, depot_id=depot.id, material_id=tent.id, quantity=50, facts=LotFacts("T1")
        )
        ledger.record_receipt(
            operator,
            depot_id=secret.id,
            material_id=tent.id,
            quantity=RESTRICTED_UNITS,
            facts=LotFacts("T-SECRET", expiry_date=utcnow().date() - timedelta(days=1)),
        )  # expired: never planned with, so the plan leaves 70 unmet
        for i, (state, account) in enumerate(enterprises.items()):
            db.session.add(
                Supplier(
                    user_id=account["id"],
                    name=f"企业{state}",
                    credit_code=f"91140100MA0K7C8X{i:02d}",
                    legal_representative="张三",
                    contact_name="李四",
                    contact_mobile=f"1390000000{i}",
                    address="太原市小店区",
                    region_code="140100",
                    status=state,
                )
            )
        db.session.commit()
        return {
            **{k: v["id"] for k, v in people.items()},
            "emails": {
                **{k: v["email"] for k, v in people.items()},
                **{f"supplier_{s}": v["email"] for s, v in enterprises.items()},
            },
            "suppliers": {s: v["id"] for s, v in enterprises.items()},
            "agency": agency,
            "tent": tent.id,
            "depot": depot.id,
            "secret_depot": secret.id,
        }


def incident_short_of_tents(world, *, drill=False, tents=120):
    """An incident in Taiyuan whose point (a county of Taiyuan) needs `tents` within 48 h."""
    author = factories.user(world["author"])
    incident = incidents.create_incident(
        author,
        title="测试洪涝",
        incident_type="natural_disaster",
        subtype="flood",
        level="II",
        region_code="140100",
        drill=drill,
    )
    point = incidents.add_point(
        author,
        incident.id,
        name="小店区安置点",
        lat=37.74,
        lon=112.56,
        population=5000,
        severity=3,
        region_code="140105",
    )
    incidents.add_demand(
        author,
        incident.id,
        point_id=point.id,
        material_id=world["tent"],
        quantity=tents,
        needed_by=utcnow() + timedelta(hours=48),
        priority=3,
    )
    return incident, point
