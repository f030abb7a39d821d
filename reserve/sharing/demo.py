"""Demo sharing setup: the change log for the bulk-loaded demo, one conditional resource, one
external system (acting for 太原市应急管理局, may read stock and push reports), a quality snapshot."""

from sqlalchemy import select

from core.auth import ADMIN, User
from core.extensions import db
from core.timeutil import local_today

from core.organisation import Agency
from . import clients, quality, services
from .changes import backfill
from .models import ExternalClient

DEMO_CLIENT = "太原市应急物资管理系统（演示）"


def is_empty() -> bool:
    return db.session.execute(select(ExternalClient.id).limit(1)).scalar() is None


def build_sharing_demo() -> dict:
    """Returns what was made, the client's token included (shown once, like on the page)."""
    added = backfill()
    admin = db.session.execute(select(User).where(User.roles.any(name=ADMIN))).scalars().first()
    taiyuan = db.session.execute(select(Agency).filter_by(code="TY-YJJ")).scalar_one_or_none()
    province = db.session.execute(select(Agency).filter_by(code="SX-YJT")).scalar_one_or_none()
    result = {"change log": added}
    if admin is None or taiyuan is None:
        return result
    if province is not None:
        services.set_attribute(
            admin,
            province.id,
            "transport",
            attribute="conditional",
            description="省级应急运输力量，经申请批准后共享",
        )
    client, token = clients.register_client(
        admin,
        name=DEMO_CLIENT,
        agency_id=taiyuan.id,
        scopes=["read:stock", "read:depots", "push:submissions"],
        rate_limit="120 per minute",
        contact="演示",
    )
    result["quality snapshot rows"] = quality.take_snapshot(local_today())
    result["client"] = f"{client.name} token {token}"
    return result
