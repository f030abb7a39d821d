"""Regenerate regions_shanxi.csv from cpca's adcodes table and stdnum's loc.dat.

Usage: python reserve/data/extract_regions.py
       (needs `pip install cpca python-stdnum`; run from the repository root
       or anywhere else, the output goes next to this script)

Standard library only; both packages' data files are read through
importlib.resources.

- Every Shanxi division that cpca has is kept (old codes included, so that old
  records still resolve), except the "市辖区" placeholder rows (no coordinates,
  not a real territory). lat/lon come from cpca unchanged.
- Divisions that python-stdnum's cn/loc.dat lists as still in force but that
  cpca lacks (the 2018-2019 changes) are added. cpca has no coordinates for
  them, so their lat/lon is the mean of their predecessors' cpca coordinates
  (see PREDECESSORS below): an approximate centroid only.
- valid_from/valid_to come from loc.dat, which gives years only: a start year
  Y becomes Y-01-01 and an end year Y becomes Y-12-31. Empty means "not given"
  for valid_from and "still in force" for valid_to.
"""

import csv
import importlib.resources
import re
import sys
from pathlib import Path

PROVINCE = "140000"
OUT = Path(__file__).with_name("regions_shanxi.csv")
FIELDS = ["code", "name", "level", "parent_code", "lat", "lon", "valid_from", "valid_to"]

# Added division -> the cpca divisions it was formed from (whole or in part).
# Its coordinates are the mean of these predecessors' coordinates.
PREDECESSORS = {
    "140213": ("140202", "140211"),  # 平城区 <- 城区 + 南郊区 (part)
    "140214": ("140203", "140211"),  # 云冈区 <- 矿区 + 南郊区 (part)
    "140215": ("140227",),  # 云州区 <- 大同县
    "140403": ("140402", "140411"),  # 潞州区 <- 城区 + 郊区
    "140404": ("140421",),  # 上党区 <- 长治县
    "140405": ("140424",),  # 屯留区 <- 屯留县
    "140406": ("140481",),  # 潞城区 <- 潞城市
    "140681": ("140624",),  # 怀仁市 <- 怀仁县
    "140703": ("140726",),  # 太谷区 <- 太谷县
}

# loc.dat: a line "14 province=..." opens a province; the indented lines under
# it are "  NNNN county=..." with the last four digits of the code. The value
# is one or more comma-separated names, each optionally prefixed by a validity
# range in years: "[1983-2018]城区", "[2018-]平城区", "[-1993]雁北地区".
ENTRY = re.compile(r'^(\s*)(\d+) (\w+)="([^"]*)"\s*$')
SEGMENT = re.compile(r"^(?:\[(\d{4})?-(\d{4})?\])?(.+)$")


def level_of(code):
    if code == PROVINCE:
        return "province", ""
    if code.endswith("00"):
        return "city", PROVINCE
    return "county", code[:4] + "00"


def read_cpca():
    """Return {code: (name, lat, lon)} for Shanxi, placeholders included."""
    src = importlib.resources.files("cpca.resources").joinpath("adcodes.csv")
    found = {}
    with src.open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            adcode = rec["adcode"]
            if not adcode.startswith("14"):
                continue
            if adcode[6:].strip("0"):
                sys.exit(f"unexpected sub-county code {adcode}")
            found[adcode[:6]] = (rec["name"], rec["latitude"], rec["longitude"])
    return found


def read_loc():
    """Return {code: (name, from_year, to_year)} for Shanxi from stdnum's loc.dat.

    For a code with several names over time, the name is the last one, the
    start year the first segment's and the end year the last segment's.
    """
    src = importlib.resources.files("stdnum.cn").joinpath("loc.dat")
    found = {}
    prefix = None
    with src.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            m = ENTRY.match(line)
            if not m:
                sys.exit(f"unexpected loc.dat line: {line!r}")
            indent, digits, _kind, value = m.groups()
            if not indent:
                prefix = digits
                continue
            code = prefix + digits
            if not code.startswith("14"):
                continue
            segments = [SEGMENT.match(part).groups() for part in value.split(",")]
            found[code] = (segments[-1][2], segments[0][0] or "", segments[-1][1] or "")
    return found


def mean_coordinate(values):
    values = [float(v) for v in values]
    return f"{sum(values) / len(values):.6f}"


def main():
    cpca = read_cpca()
    loc = read_loc()

    def dates(code):
        _name, start, end = loc.get(code, ("", "", ""))
        return (f"{start}-01-01" if start else "", f"{end}-12-31" if end else "")

    rows = []
    for code, (name, lat, lon) in cpca.items():
        if name == "市辖区" and not lat:
            print(f"skip placeholder {code} 市辖区", file=sys.stderr)
            continue
        if code not in loc:
            print(f"warning: {code} {name} not in loc.dat, no dates", file=sys.stderr)
        elif loc[code][0] != name:
            print(f"warning: {code} cpca {name} vs loc.dat {loc[code][0]}", file=sys.stderr)
        level, parent = level_of(code)
        valid_from, valid_to = dates(code)
        rows.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "parent_code": parent,
                "lat": lat,
                "lon": lon,
                "valid_from": valid_from,
                "valid_to": valid_to,
            }
        )

    added = sorted(code for code, (_n, _s, end) in loc.items() if not end and code not in cpca)
    if set(added) != set(PREDECESSORS):
        sys.exit(
            f"PREDECESSORS out of date: loc.dat adds {added}, mapping has {sorted(PREDECESSORS)}"
        )
    for code in added:
        name, start, _end = loc[code]
        preds = PREDECESSORS[code]
        for pred in preds:
            pred_end = loc.get(pred, ("", "", ""))[2]
            if pred not in cpca or not cpca[pred][1] or not pred_end or pred_end > start:
                sys.exit(f"bad predecessor {pred} for {code}")
        level, parent = level_of(code)
        valid_from, valid_to = dates(code)
        rows.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "parent_code": parent,
                "lat": mean_coordinate(cpca[p][1] for p in preds),
                "lon": mean_coordinate(cpca[p][2] for p in preds),
                "valid_from": valid_from,
                "valid_to": valid_to,
            }
        )
        print(f"add {code} {name} from {'+'.join(preds)}", file=sys.stderr)

    rows.sort(key=lambda r: r["code"])
    codes = {r["code"] for r in rows}
    for r in rows:
        if r["parent_code"] and r["parent_code"] not in codes:
            print(f"missing parent {r['parent_code']} for {r['code']}", file=sys.stderr)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    in_force = sum(1 for r in rows if not r["valid_to"])
    print(
        f"wrote {len(rows)} rows to {OUT} ({in_force} in force, "
        f"{len(rows) - in_force} no longer in force, {len(added)} added)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
