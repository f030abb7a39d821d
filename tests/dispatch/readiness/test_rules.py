"""Readiness rules by hand: the intensity rule, demands from norms, coverage and scores."""

import pytest

from dispatch.readiness import rules


def test_intensity_falls_with_distance_from_the_epicentre():
    assert rules.intensity_at(7.0, 0) == pytest.approx(10.0)
    assert rules.intensity_at(7.0, 90) == pytest.approx(7.0)  # log10(10) = 1 → 3 degrees less
    assert rules.intensity_at(7.0, 990) == pytest.approx(4.0)


def test_people_affected_and_severity_by_intensity_band():
    assert rules.affected(100_000, 9.5) == (50_000, 3)
    assert rules.affected(100_000, 8.0) == (30_000, 3)
    assert rules.affected(100_000, 7.2) == (15_000, 2)
    assert rules.affected(100_000, 6.0) == (5_000, 1)
    assert rules.affected(100_000, 5.9) is None


def test_counties_by_intensity_nearest_first_and_far_ones_left_out():
    counties = [("B", 38.0, 113.0, 200_000), ("A", 38.0, 112.0, 100_000), ("Z", 48.0, 112.0, 1)]
    reached = rules.counties_by_intensity(7.0, 38.0, 112.0, counties)
    assert [code for code, _p, _s in reached] == ["A", "B"]
    assert reached[0] == ("A", 50_000, 3)  # at the epicentre: intensity 10


def test_demand_from_a_norm_per_ten_thousand_people():
    assert rules.demand_quantity(100, 10_000) == 100
    assert rules.demand_quantity(3000, 15) == 5  # 4.5 rounded up
    assert rules.demand_quantity(100, 0) == 0


def _cell(county, material, asked, weight, *delivered):
    return {
        "county": county,
        "material": material,
        "asked": asked,
        "weight": weight,
        "delivered": dict(zip(rules.WINDOWS_H, delivered, strict=True)),
    }


def test_coverage_is_priority_weighted_per_window_and_scored_as_the_mean():
    cells = [
        _cell("C1", "tent", 100, 9, 50, 100, 100, 100),
        _cell("C2", "tent", 200, 3, 0, 10, 200, 200),
    ]
    summary = rules.summarise(cells)
    province = summary["province"]
    assert province["coverage"] == {"12": 0.3, "24": 0.62, "48": 1.0, "72": 1.0}
    assert province["score"] == 73.0
    assert summary["counties"]["C1"]["score"] == 87.5
    assert summary["counties"]["C2"]["score"] == 51.25
    assert summary["materials"]["tent"]["delivered"]["24"] == 110
    assert rules.weakest(summary["counties"], 1) == ["C2"]


def test_nothing_asked_counts_as_covered_and_is_left_out():
    summary = rules.summarise([_cell("C1", "tent", 0, 9, 0, 0, 0, 0)])
    assert summary["counties"] == {}
    assert summary["province"]["score"] == 100.0


def test_a_county_below_the_threshold_warrants_a_warning():
    assert rules.should_warn(59.9, 60)
    assert not rules.should_warn(60, 60)
