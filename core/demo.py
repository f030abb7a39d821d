"""Demo accounts, one per role, and the agencies they belong to (loaded only into an empty database)."""

from dataclasses import dataclass

from flask import current_app
from flask_security import hash_password
from sqlalchemy import func, select

from reserve.models import Agency, AgencyKind

from .auth import ADMIN, COMMANDER, OPERATOR, ROLES, SUPPLIER, VIEWER, Role, User
from .extensions import db, security

# (code, name, kind, GB/T 2260 region code, parent code)
DEMO_AGENCIES = [
    ("SX-YJT", "山西省应急管理厅", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", None),
    ("SX-LCJ", "山西省粮食和物资储备局", AgencyKind.PROVINCIAL_DEPARTMENT, "140000", "SX-YJT"),
    ("TY-YJJ", "太原市应急管理局", AgencyKind.CITY, "140100", "SX-YJT"),
    ("TY-XD-YJJ", "太原市小店区应急管理局", AgencyKind.COUNTY, "140105", "TY-YJJ"),
    ("TY-YZ-YJJ", "太原市迎泽区应急管理局", AgencyKind.COUNTY, "140106", "TY-YJJ"),
    ("DT-YJJ", "大同市应急管理局", AgencyKind.CITY, "140200", "SX-YJT"),
    ("DT-PC-YJJ", "大同市平城区应急管理局", AgencyKind.COUNTY, "140213", "DT-YJJ"),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    display_name: str
    agency_code: str | None


DEMO_ACCOUNTS = [
    DemoAccount("admin@example.org", ADMIN, "系统管理员", "SX-YJT"),
    DemoAccount("operator@example.org", OPERATOR, "太原市填报员", "TY-YJJ"),
    DemoAccount("commander@example.org", COMMANDER, "应急指挥员", "SX-YJT"),
    DemoAccount("viewer@example.org", VIEWER, "领导查看", None),
    DemoAccount("supplier@example.org", SUPPLIER, "供应企业演示账号", None),
]


def ensure_roles() -> None:
    datastore = security.datastore
    for name, label in ROLES.items():
        if datastore.find_role(name) is None:
            datastore.create_role(name=name, description=str(label))
    db.session.commit()


def load_demo_agencies() -> int:
    """Insert the demo agency tree if there are no agencies yet; returns how many were added."""
    if db.session.scalar(select(func.count(Agency.id))):
        return 0
    by_code = {}
    for code, name, kind, region, parent_code in DEMO_AGENCIES:
        parent = by_code.get(parent_code)
        agency = Agency(code=code, name=name, kind=kind.value, region_code=region, parent=parent)
        db.session.add(agency)
        db.session.flush()
        agency.path = f"{parent.path if parent else '/'}{agency.id}/"
        by_code[code] = agency
    db.session.commit()
    return len(by_code)


def ensure_demo_accounts(password: str | None = None) -> list[DemoAccount]:
    """Create the demo accounts that do not exist yet. Existing accounts are left untouched."""
    ensure_roles()
    password = password or current_app.config["DEMO_PASSWORD"]
    datastore = security.datastore
    for account in DEMO_ACCOUNTS:
        if datastore.find_user(email=account.email) is not None:
            continue
        agency = None
        if account.agency_code:
            agency = db.session.execute(select(Agency).filter_by(code=account.agency_code)).scalar_one_or_none()
        datastore.create_user(email=account.email, password=hash_password(password), display_name=account.display_name,
                              roles=[account.role], agency=agency)
    db.session.commit()
    return DEMO_ACCOUNTS
