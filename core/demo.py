"""Demo accounts, one per role (two commanders, for four-eyes approval), attached to agencies of the demo province."""

from dataclasses import dataclass

from flask import current_app
from flask_security import hash_password
from sqlalchemy import select

from .organisation import Agency

from .auth import ADMIN, COMMANDER, OPERATOR, ROLES, SUPPLIER, VIEWER
from .extensions import db, security


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
    # A plan is approved by a commander other than its author (DISPATCH_FOUR_EYES).
    DemoAccount("commander2@example.org", COMMANDER, "值班指挥长", "SX-YJT"),
    DemoAccount("viewer@example.org", VIEWER, "领导查看", None),
    DemoAccount("supplier@example.org", SUPPLIER, "供应企业演示账号", None),
]


def ensure_roles() -> None:
    datastore = security.datastore
    for name, label in ROLES.items():
        if datastore.find_role(name) is None:
            datastore.create_role(name=name, description=str(label))
    db.session.commit()


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
            agency = db.session.execute(
                select(Agency).filter_by(code=account.agency_code)
            ).scalar_one_or_none()
        datastore.create_user(
            email=account.email,
            password=hash_password(password),
            display_name=account.display_name,
            roles=[account.role],
            agency=agency,
        )
    db.session.commit()
    return DEMO_ACCOUNTS
