"""Reference data shipped with the code (reserve/data/, sources in SOURCES.md): divisions,
the illustrative GB/T 38565 category tree and demo catalog materials. Loading inserts what is
missing and never overwrites what an administrator changed."""

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import select

from core.extensions import db

from .. import rules
from core.organisation import Region
from ..models import Category, Material

DATA = Path(__file__).resolve().parent.parent / "data"
LEVELS = ["province", "city", "county"]

# Resident population of the cities, 2020 seventh national census (Shanxi communiqué), used by
# norms "per 10,000 people". Approximate figures for the demo; verify before official use.
CITY_POPULATION = {
    "140000": 34_915_616,
    "140100": 5_304_061,
    "140200": 3_105_591,
    "140300": 1_318_505,
    "140400": 3_180_884,
    "140500": 2_194_545,
    "140600": 1_593_444,
    "140700": 3_379_498,
    "140800": 4_774_508,
    "140900": 2_689_668,
    "141000": 3_976_481,
    "141100": 3_398_431,
}


def read_csv(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _day(text: str):
    return date.fromisoformat(text) if text else None


def load_regions() -> int:
    known = set(db.session.scalars(select(Region.code)))
    rows = sorted(
        read_csv("regions_shanxi.csv"), key=lambda r: (LEVELS.index(r["level"]), r["code"])
    )
    added = 0
    for r in rows:
        if r["code"] in known:
            continue
        db.session.add(
            Region(
                code=r["code"],
                name=r["name"],
                level=r["level"],
                parent_code=r["parent_code"] or None,
                lat=float(r["lat"]) if r["lat"] else None,
                lon=float(r["lon"]) if r["lon"] else None,
                population=CITY_POPULATION.get(r["code"]),
                valid_from=_day(r["valid_from"]),
                valid_to=_day(r["valid_to"]),
            )
        )
        added += 1
        if r["level"] != "county":
            db.session.flush()
    for code, population in CITY_POPULATION.items():  # regions seeded by the migration lack it
        region = db.session.get(Region, code)
        if region is not None and region.population is None:
            region.population = population
    db.session.commit()
    return added


def load_categories() -> int:
    """The category tree; the three top classes are the standard's, the rest is illustrative."""
    known = set(db.session.scalars(select(Category.code)))
    added = 0
    for r in sorted(read_csv("catalog_categories.csv"), key=lambda r: (len(r["code"]), r["code"])):
        if r["code"] in known:
            continue
        db.session.add(
            Category(
                code=r["code"],
                name=r["name"],
                level=rules.category_level(r["code"]),
                parent_code=rules.category_parent(r["code"]),
                illustrative=r["code"] not in rules.TOP_CLASSES,
            )
        )
        added += 1
        if len(r["code"]) < 7:
            db.session.flush()
    db.session.commit()
    return added


def load_materials() -> int:
    known = set(db.session.scalars(select(Material.code)))
    added = 0
    for r in read_csv("materials.csv"):
        if r["code"] in known:
            continue
        db.session.add(
            Material(
                code=r["code"],
                name=r["name"],
                spec=r["spec"] or None,
                unit=r["unit"],
                unit_weight_kg=float(r["unit_weight_kg"]),
                unit_volume_m3=float(r["unit_volume_m3"]),
                shelf_life_days=int(r["shelf_life_days"]) if r["shelf_life_days"] else None,
                category_code=r["category_code"],
            )
        )
        added += 1
    db.session.commit()
    return added


def load_reference_data() -> dict:
    return {
        "regions": load_regions(),
        "categories": load_categories(),
        "materials": load_materials(),
    }
