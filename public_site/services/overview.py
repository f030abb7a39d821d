"""Public aggregates of the reserves: totals by category, by city and by material, summed
from the rollups the ledger keeps, over `public` stock only. Nothing here names a depot, an
agency's restricted quantity or a location finer than a city's centroid."""

from collections import defaultdict

from flask import current_app
from sqlalchemy import select

from core.extensions import db
from core.organisation import Region
from reserve.models import Category, Material
from reserve.stock.queries import public_on_hand_by_city

from ..models import PublishedStock

TOP_MATERIALS = 30


def public_overview() -> dict:
    """Totals of public stock: overall, per level-2 category, per city, top materials."""
    rows = _public_stock()
    material_ids = {m for _c, m, _u in rows}
    materials = {
        m.id: m
        for m in db.session.execute(
            select(
                Material.id,
                Material.name,
                Material.unit,
                Material.category_code,
                Material.unit_weight_kg,
            ).where(Material.id.in_(material_ids))
        ).all()
    }
    by_category, by_city, by_material = (
        defaultdict(_group),
        defaultdict(_group),
        defaultdict(_group),
    )
    for city, material_id, units in rows:
        material = materials[material_id]
        weight_t = units * (material.unit_weight_kg or 0) / 1000
        for groups, key in (
            (by_category, material.category_code[:3]),
            (by_city, city),
            (by_material, material_id),
        ):
            group = groups[key]
            group["quantity"] += units
            group["weight_t"] += weight_t
            group["materials"].add(material_id)
    return {
        "weight_t": round(sum(g["weight_t"] for g in by_city.values()), 1),
        "materials": len(material_ids),
        "cities": len([c for c in by_city if c]),
        "by_category": _category_rows(by_category),
        "by_city": _city_rows(by_city),
        "by_material": _material_rows(by_material, materials),
    }


def _public_stock() -> list:
    """(city, material, units): from the ledger's rollups, or on the extranet from what the
    private network last published (public_site/exchange.py)."""
    if current_app.config["DEPLOYMENT_ROLE"] == "public":
        stock = select(
            PublishedStock.city_code, PublishedStock.material_id, PublishedStock.quantity
        )
        return [tuple(row) for row in db.session.execute(stock)]
    return public_on_hand_by_city()


def _group() -> dict:
    return {"quantity": 0, "weight_t": 0.0, "materials": set()}


def _finish(key, label, group, **extra) -> dict:
    return {
        "key": str(key),
        "label": label,
        "quantity": group["quantity"],
        "weight_t": round(group["weight_t"], 1),
        "materials": len(group["materials"]),
        "unit": None,
        "lat": None,
        "lon": None,
        **extra,
    }


def _category_rows(groups: dict) -> list[dict]:
    names = dict(
        db.session.execute(
            select(Category.code, Category.name).where(Category.code.in_(groups))
        ).all()
    )
    return [_finish(code, names.get(code, code), groups[code]) for code in sorted(groups)]


def _city_rows(groups: dict) -> list[dict]:
    regions = {
        r.code[:4]: r
        for r in db.session.execute(
            select(Region.code, Region.name, Region.lat, Region.lon).where(
                Region.code.in_([f"{c}00" for c in groups if c])
            )
        ).all()
    }
    rows = []
    for city in sorted(groups):
        region = regions.get(city)
        rows.append(
            _finish(
                city,
                region.name if region else city,
                groups[city],
                lat=region.lat if region else None,
                lon=region.lon if region else None,
            )
        )
    return sorted(rows, key=lambda r: -r["weight_t"])


def _material_rows(groups: dict, materials: dict) -> list[dict]:
    rows = [
        {**_finish(m, materials[m].name, g), "unit": materials[m].unit} for m, g in groups.items()
    ]
    return sorted(rows, key=lambda r: -r["weight_t"])[:TOP_MATERIALS]
