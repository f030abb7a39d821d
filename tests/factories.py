"""Small factories for registry data, used inside an application context."""

from core.auth import User
from core.extensions import db
from reserve.models import Category, Depot, Material


def catalog_material(
    code_suffix: str = "001", name: str = "单帐篷", weight_kg: float = 30.0
) -> Material:
    """A material under a minimal category chain 1 > 101 > 10101 > 1010101 (created once)."""
    for code, level in (("1", 1), ("101", 2), ("10101", 3), ("1010101", 4)):
        if db.session.get(Category, code) is None:
            db.session.add(
                Category(
                    code=code,
                    name=f"类别{code}",
                    level=level,
                    parent_code=code[:-2] if len(code) > 1 else None,
                )
            )
            db.session.flush()
    material = Material(
        code="1010101" + code_suffix,
        name=name,
        unit="顶",
        unit_weight_kg=weight_kg,
        unit_volume_m3=0.2,
        category_code="1010101",
    )
    db.session.add(material)
    db.session.commit()
    return material


def depot(
    agency_id: int, code: str, region_code: str | None = None, classification: str = "internal"
) -> Depot:
    row = Depot(
        agency_id=agency_id,
        code=code,
        name=f"{code}储备库",
        region_code=region_code,
        classification=classification,
        status="active",
    )
    db.session.add(row)
    db.session.commit()
    return row


def user(user_id: int) -> User:
    return db.session.get(User, user_id)
