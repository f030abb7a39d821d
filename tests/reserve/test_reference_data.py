"""Checks on the reference data files in reserve/data (pure: csv module only)."""

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "reserve" / "data"

TOP_CLASSES = {
    "1": "基本生活保障物资",
    "2": "应急装备及配套物资",
    "3": "工程材料与机械加工设备",
}
CODE_LENGTH = {1: 1, 2: 3, 3: 5, 4: 7}


def read(name):
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def regions():
    return read("regions_shanxi.csv")


@pytest.fixture(scope="module")
def categories():
    return read("catalog_categories.csv")


@pytest.fixture(scope="module")
def materials():
    return read("materials.csv")


# --- regions_shanxi.csv -------------------------------------------------------------

REGION_COLUMNS = ["code", "name", "level", "parent_code", "lat", "lon", "valid_from", "valid_to"]

SHANXI_CITIES = {
    "140100": "太原市",
    "140200": "大同市",
    "140300": "阳泉市",
    "140400": "长治市",
    "140500": "晋城市",
    "140600": "朔州市",
    "140700": "晋中市",
    "140800": "运城市",
    "140900": "忻州市",
    "141000": "临汾市",
    "141100": "吕梁市",
}

# 2018-2019 changes (python-stdnum cn/loc.dat): divisions now in force ...
CURRENT_DIVISIONS = {
    "140213": "平城区",
    "140214": "云冈区",
    "140215": "云州区",
    "140403": "潞州区",
    "140404": "上党区",
    "140405": "屯留区",
    "140406": "潞城区",
    "140681": "怀仁市",
    "140703": "太谷区",
}
# ... and the codes they replaced, kept for old records.
REPLACED_DIVISIONS = [
    "140202",
    "140203",
    "140211",
    "140227",
    "140402",
    "140411",
    "140421",
    "140424",
    "140481",
    "140624",
    "140726",
]


def iso_date(value):
    if not value:
        return None
    assert len(value) == 10 and value[4] == value[7] == "-", value
    return date.fromisoformat(value)


def test_regions_header():
    with (DATA / "regions_shanxi.csv").open(encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == REGION_COLUMNS


def test_regions_codes_unique_and_shanxi(regions):
    codes = [r["code"] for r in regions]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert len(code) == 6 and code.isdigit() and code.startswith("14"), code


def test_regions_levels(regions):
    levels = Counter(r["level"] for r in regions)
    assert set(levels) == {"province", "city", "county"}
    assert levels["province"] == 1
    assert levels["city"] == 11
    assert levels["county"] > 100
    province = next(r for r in regions if r["level"] == "province")
    assert (province["code"], province["name"], province["parent_code"]) == ("140000", "山西省", "")


def test_regions_cities(regions):
    cities = {r["code"]: r["name"] for r in regions if r["level"] == "city"}
    assert cities == SHANXI_CITIES


def test_regions_parents(regions):
    by_code = {r["code"]: r for r in regions}
    for r in regions:
        if r["level"] == "city":
            assert r["parent_code"] == "140000"
            assert r["code"].endswith("00") and r["code"] != "140000"
        elif r["level"] == "county":
            assert r["parent_code"] == r["code"][:4] + "00"
            parent = by_code.get(r["parent_code"])
            assert parent is not None, r["code"]
            assert parent["level"] == "city", r["code"]
    for city in (r for r in regions if r["level"] == "city"):
        assert any(r["parent_code"] == city["code"] for r in regions), city["code"]


def test_regions_names_non_empty(regions):
    assert all(r["name"].strip() for r in regions)


def test_regions_coordinates_inside_shanxi(regions):
    for r in regions:
        lat, lon = float(r["lat"]), float(r["lon"])
        assert 34.5 <= lat <= 40.8, r["code"]
        assert 110.2 <= lon <= 114.6, r["code"]
        for value in (r["lat"], r["lon"]):
            assert len(value.partition(".")[2]) <= 6, r["code"]


def test_regions_validity_dates(regions):
    for r in regions:
        start, end = iso_date(r["valid_from"]), iso_date(r["valid_to"])
        if start and end:
            assert end >= start, r["code"]


def test_regions_current_divisions_present(regions):
    by_code = {r["code"]: r for r in regions}
    for code, name in CURRENT_DIVISIONS.items():
        assert code in by_code, code
        assert by_code[code]["name"] == name, code
        assert by_code[code]["level"] == "county", code
        assert by_code[code]["valid_to"] == "", code


def test_regions_replaced_divisions_ended(regions):
    by_code = {r["code"]: r for r in regions}
    for code in REPLACED_DIVISIONS:
        assert code in by_code, code
        assert by_code[code]["valid_to"] != "", code


def test_regions_every_city_has_divisions_in_force(regions):
    for city in SHANXI_CITIES:
        in_force = [r["code"] for r in regions if r["parent_code"] == city and r["valid_to"] == ""]
        assert in_force, city


# --- catalog_categories.csv ---------------------------------------------------------


def test_catalog_header():
    with (DATA / "catalog_categories.csv").open(encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == ["code", "name", "level", "parent_code"]


def test_catalog_size_and_unique_codes(categories):
    assert len(categories) == 756
    codes = [c["code"] for c in categories]
    assert len(codes) == len(set(codes))
    assert len({c["name"] for c in categories}) == len(categories)


def test_catalog_top_classes(categories):
    top = {c["code"]: c["name"] for c in categories if c["level"] == "1"}
    assert top == TOP_CLASSES
    for c in categories:
        if c["level"] == "1":
            assert c["parent_code"] == ""


def test_catalog_code_level_parent(categories):
    by_code = {c["code"]: c for c in categories}
    for c in categories:
        level = int(c["level"])
        code = c["code"]
        assert code.isdigit() and len(code) == CODE_LENGTH[level], code
        assert code[0] in TOP_CLASSES, code
        assert c["name"].strip(), code
        if level > 1:
            assert code[-2:] != "00", code
            assert c["parent_code"] == code[:-2], code
            parent = by_code.get(c["parent_code"])
            assert parent is not None, code
            assert int(parent["level"]) == level - 1, code


def test_catalog_levels_populated(categories):
    levels = Counter(c["level"] for c in categories)
    assert levels["1"] == 3
    assert 20 <= levels["2"] <= 40
    assert 100 <= levels["3"] <= 200
    assert levels["2"] < levels["3"] < levels["4"]


def test_catalog_other_semantics(categories):
    parents = {c["parent_code"] for c in categories}
    codes = {c["code"] for c in categories}
    for c in categories:
        if c["level"] != "1" and c["code"].endswith("99"):
            assert c["name"].startswith("其他"), c["code"]
    for code in parents - {""}:
        assert code + "99" in codes, f"{code} has children but no 99 (其他) child"


# --- materials.csv ------------------------------------------------------------------

MATERIAL_COLUMNS = [
    "code",
    "name",
    "spec",
    "unit",
    "unit_weight_kg",
    "unit_volume_m3",
    "shelf_life_days",
    "category_code",
]


def test_materials_header():
    with (DATA / "materials.csv").open(encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == MATERIAL_COLUMNS


def test_materials_codes(materials, categories):
    level_of = {c["code"]: c["level"] for c in categories}
    codes = [m["code"] for m in materials]
    assert 250 <= len(codes) <= 350
    assert len(codes) == len(set(codes))
    for m in materials:
        assert len(m["code"]) == 10 and m["code"].isdigit(), m["code"]
        assert level_of.get(m["category_code"]) == "4", m["code"]
        assert m["code"].startswith(m["category_code"]), m["code"]
        assert m["code"][7:] != "000", m["code"]


def test_materials_values(materials):
    for m in materials:
        assert m["name"].strip() and m["unit"].strip(), m["code"]
        assert float(m["unit_weight_kg"]) > 0, m["code"]
        assert float(m["unit_volume_m3"]) > 0, m["code"]
        shelf = m["shelf_life_days"]
        if shelf != "":
            assert shelf.isdigit() and int(shelf) > 0, m["code"]


def test_materials_cover_all_top_classes(materials):
    assert {m["category_code"][0] for m in materials} == set(TOP_CLASSES)
