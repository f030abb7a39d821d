"""Decode an ECharts 4 map file (compressed "UTF8Encoding" GeoJSON) into plain GeoJSON.

ECharts stores each ring as a string: every coordinate is two characters whose code points,
minus 64, are zig-zag encoded deltas from the previous point, scaled by 1024, starting from
the ring's `encodeOffsets`. Usage: decode_echarts_map.py IN.json OUT.geojson SOURCE-NOTE
"""

import json
import sys

SCALE = 1024.0


def decode_ring(encoded: str, offset: list[int]) -> list[list[float]]:
    prev_x, prev_y = offset
    points = []
    for i in range(0, len(encoded), 2):
        x, y = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x, y = (x >> 1) ^ -(x & 1), (y >> 1) ^ -(y & 1)
        prev_x, prev_y = prev_x + x, prev_y + y
        points.append([round(prev_x / SCALE, 5), round(prev_y / SCALE, 5)])
    return points


def decode_geometry(geometry: dict) -> dict:
    offsets = geometry["encodeOffsets"]
    if geometry["type"] == "Polygon":
        rings = [decode_ring(r, o) for r, o in zip(geometry["coordinates"], offsets, strict=True)]
        return {"type": "Polygon", "coordinates": rings}
    polygons = [
        [decode_ring(r, o) for r, o in zip(poly, poly_offsets, strict=True)]
        for poly, poly_offsets in zip(geometry["coordinates"], offsets, strict=True)
    ]
    return {"type": "MultiPolygon", "coordinates": polygons}


def main(source: str, target: str, note: str) -> None:
    data = json.load(open(source, encoding="utf-8"))
    features = []
    for feature in data["features"]:
        geometry = (
            decode_geometry(feature["geometry"])
            if data.get("UTF8Encoding")
            else feature["geometry"]
        )
        features.append(
            {
                "type": "Feature",
                "id": feature.get("id"),
                "properties": {"name": feature["properties"]["name"]},
                "geometry": geometry,
            }
        )
    out = {"type": "FeatureCollection", "source": note, "features": features}
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(out, handle, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
