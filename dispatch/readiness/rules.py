"""Readiness rules, pure: how many people a scenario affects in a county, what they need, and how
much of it a plan covers per window, weighted by priority. No Flask, no database.

Intensity by distance (an earthquake with an epicentre; docs/readiness.md):
    I0   = 1.5 × M − 0.5                       (epicentral intensity, M the magnitude)
    I(R) = I0 − 3 × log10(1 + R / 10)          (R: km from the epicentre to the county's centre)
People affected = residents × AFFECTED_SHARE of the intensity band; severity from the band.
"""

import math
from collections.abc import Iterable

WINDOWS_H = (12, 24, 48, 72)
EARTH_RADIUS_KM = 6371.0088
MAX_POPULATION = 100_000_000

# (lowest intensity of the band, share of residents affected, severity 1..3), strongest first
AFFECTED_BANDS = ((9.0, 0.5, 3), (8.0, 0.3, 3), (7.0, 0.15, 2), (6.0, 0.05, 1))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def intensity_at(magnitude: float, km: float) -> float:
    """Seismic intensity (degrees of the Chinese scale) at `km` from the epicentre."""
    return 1.5 * magnitude - 0.5 - 3.0 * math.log10(1.0 + max(km, 0.0) / 10.0)


def affected(residents: int, intensity: float) -> tuple[int, int] | None:
    """(people affected, severity 1..3) of a county at this intensity; None below the bands."""
    for lowest, share, severity in AFFECTED_BANDS:
        if intensity >= lowest:
            return min(MAX_POPULATION, math.floor(residents * share)), severity
    return None


def counties_by_intensity(
    magnitude: float, lat: float, lon: float, counties: Iterable[tuple[str, float, float, int]]
) -> list[tuple[str, int, int]]:
    """[(county code, people affected, severity)] for counties (code, lat, lon, residents) the
    rule reaches, nearest first."""
    reached = []
    for code, c_lat, c_lon, residents in counties:
        km = distance_km(lat, lon, c_lat, c_lon)
        hit = affected(residents or 0, intensity_at(magnitude, km))
        if hit and hit[0] > 0:
            reached.append((km, code, *hit))
    return [(code, people, severity) for _km, code, people, severity in sorted(reached)]


def demand_quantity(norm_per_10k: float, people: int) -> int:
    """Units a county needs: the relief norm per 10,000 people × the people affected."""
    return math.ceil(norm_per_10k * people / 10_000) if people and norm_per_10k > 0 else 0


def priority(severity: int, criticality: int) -> int:
    """The planner's priority weight of a demand (docs/planner.md): severity × criticality."""
    return severity * criticality


def summarise(cells: list[dict], windows=WINDOWS_H) -> dict:
    """Coverage from the planned deliveries. `cells`: one per county and material with
    `county`, `material`, `asked`, `weight` (priority) and `delivered` {window: units}.

    Coverage of a county (or material, or the province) in a window = Σ weight × delivered /
    Σ weight × asked over its cells; its readiness score = the mean of its four windows' weighted
    coverage, × 100. Counties and materials without any demand are left out."""
    by_county: dict = {}
    by_material: dict = {}
    province = _Tally(windows)
    for cell in cells:
        if cell["asked"] <= 0:
            continue
        for tally in (
            by_county.setdefault(cell["county"], _Tally(windows)),
            by_material.setdefault(cell["material"], _Tally(windows)),
            province,
        ):
            tally.add(cell)
    return {
        "province": province.as_dict(),
        "counties": {key: t.as_dict() for key, t in by_county.items()},
        "materials": {key: t.as_dict() for key, t in by_material.items()},
    }


class _Tally:
    def __init__(self, windows):
        self.windows = tuple(windows)
        self.asked = 0.0
        self.units = 0
        self.delivered = {w: 0.0 for w in self.windows}
        self.units_delivered = {w: 0 for w in self.windows}

    def add(self, cell: dict) -> None:
        self.asked += cell["weight"] * cell["asked"]
        self.units += cell["asked"]
        for w in self.windows:
            got = min(cell["delivered"].get(w, 0), cell["asked"])
            self.delivered[w] += cell["weight"] * got
            self.units_delivered[w] += got

    def as_dict(self) -> dict:
        coverage = {
            str(w): (self.delivered[w] / self.asked if self.asked else 1.0) for w in self.windows
        }
        return {
            "asked": self.units,
            "delivered": {str(w): self.units_delivered[w] for w in self.windows},
            "coverage": {w: round(c, 6) for w, c in coverage.items()},
            "score": score(coverage.values()),
        }


def score(coverages: Iterable[float]) -> float:
    """Readiness score 0..100: the mean weighted coverage over the windows."""
    values = list(coverages)
    return round(100.0 * sum(values) / len(values), 2) if values else 100.0


def weakest(counties: dict, count: int) -> list[str]:
    """The `count` counties with the lowest score (ties by code)."""
    return [code for code, _c in sorted(counties.items(), key=lambda kv: (kv[1]["score"], kv[0]))][
        :count
    ]


def should_warn(score_now: float, threshold: float) -> bool:
    """A county's readiness warrants a warning when its score falls below the threshold."""
    return score_now < threshold
