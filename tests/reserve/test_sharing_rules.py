"""Pure rules of data sharing: grant states, narrowing, client scopes, conflict detection."""

from datetime import date

from reserve.sharing import rules

TODAY = date(2026, 11, 20)


def test_grant_states_over_its_life():
    requested = date(2026, 11, 1)
    assert rules.grant_state("pending", None, None, date(2026, 11, 10), TODAY) == "pending"
    assert rules.grant_state("pending", None, None, requested, date(2026, 11, 16)) == "timed_out"
    assert (
        rules.grant_state("approved", date(2026, 12, 1), date(2026, 12, 31), requested, TODAY)
        == "scheduled"
    )
    assert (
        rules.grant_state("approved", date(2026, 11, 1), date(2026, 11, 20), requested, TODAY)
        == "active"
    )
    assert (
        rules.grant_state("approved", date(2026, 11, 1), date(2026, 11, 19), requested, TODAY)
        == "expired"
    )
    assert (
        rules.grant_state("revoked", date(2026, 11, 1), date(2026, 12, 1), requested, TODAY)
        == "revoked"
    )
    assert rules.grant_state("rejected", None, None, requested, TODAY) == "rejected"


def test_an_owner_may_only_narrow_a_request():
    asked = (["a", "b"], date(2026, 11, 1), date(2026, 12, 31))
    assert rules.approval_problem(*asked, ["a"], date(2026, 11, 10), date(2026, 11, 30)) is None
    assert rules.approval_problem(*asked, ["a", "c"], date(2026, 11, 10), date(2026, 11, 30))
    assert rules.approval_problem(*asked, ["a"], date(2026, 10, 1), date(2026, 11, 30))
    assert rules.approval_problem(*asked, [], date(2026, 11, 10), date(2026, 11, 30))


def test_request_problems():
    known = ["id", "code"]
    assert rules.request_problem(["code"], known, TODAY, date(2026, 12, 1), TODAY) is None
    assert rules.request_problem([], known, TODAY, date(2026, 12, 1), TODAY)
    assert rules.request_problem(["secret"], known, TODAY, date(2026, 12, 1), TODAY)
    assert rules.request_problem(["code"], known, TODAY, date(2026, 11, 1), TODAY)
    assert rules.request_problem(["code"], known, TODAY, date(2028, 1, 1), TODAY)


def test_client_routes_need_their_scope_and_everything_else_is_refused():
    assert rules.required_scope("GET", "/api/v1/sharing/feeds/stock") == "read:stock"
    assert rules.required_scope("GET", "/api/v1/sharing/exports/depots") == "read:depots"
    assert rules.required_scope("POST", "/api/v1/submissions/push") == "push:submissions"
    assert rules.required_scope("GET", "/api/v1/me") is None
    assert rules.required_scope("POST", "/api/v1/stock/receipts") == rules.DENIED
    assert rules.required_scope("GET", "/admin/audit") == rules.DENIED
    assert rules.required_scope("DELETE", "/api/v1/sharing/feeds/stock") == rules.DENIED
    assert rules.is_scope_allowed(["read:stock"], "GET", "/api/v1/stock/totals")
    assert not rules.is_scope_allowed(["read:stock"], "GET", "/api/v1/sharing/feeds/depots")
    assert not rules.is_scope_allowed(["read:stock"], "POST", "/api/v1/submissions/push")


def _depot(i, agency, name, address=None, lat=None, lon=None):
    return rules.DepotFacts(i, agency, name, address, lat, lon)


def test_one_site_registered_by_two_agencies_is_a_conflict():
    depots = [
        _depot(1, 10, "太原市 救灾物资库", "迎泽大街1号"),
        _depot(2, 20, "太原市救灾物资库"),
        _depot(3, 20, "别的库", "迎泽大街1号"),
        _depot(4, 30, "甲", None, 37.8700, 112.5500),
        _depot(5, 40, "乙", None, 37.8705, 112.5504),
        _depot(6, 40, "丙", None, 37.9, 112.6),
        _depot(7, 10, "太原市救灾物资库"),
    ]  # same agency as 1: not a conflict between agencies
    found = {(a, b): why for a, b, why in rules.duplicate_depots(depots)}
    assert found[(1, 2)] == "same_name"
    assert found[(1, 3)] == "same_address"
    assert found[(4, 5)] == "same_place"
    assert (1, 7) not in found and (2, 7) in found
    assert not any(6 in pair for pair in found)


def test_the_same_lot_held_by_two_agencies_is_a_conflict():
    lots = [
        (1, 10, 5, "2026-A"),
        (2, 20, 5, "2026a"),
        (3, 10, 5, "2026-B"),
        (4, 10, 6, "2026-A"),
        (5, 10, 6, "2026-A"),
        (6, 30, 7, ""),
    ]
    assert rules.duplicate_lots(lots) == [[1, 2]]


def test_one_material_in_two_units_is_a_conflict():
    materials = [
        (1, "棉被", "1.5m", "床"),
        (2, "棉被 ", "1.5M", "条"),
        (3, "棉被", "2m", "条"),
        (4, "帐篷", None, "顶"),
        (5, "帐篷", "", "顶"),
    ]
    assert rules.unit_conflicts(materials) == [[1, 2]]


def test_totals_that_move_beyond_the_threshold():
    assert rules.total_jump(100, 160) == 0.6
    assert rules.total_jump(100, 40) == -0.6
    assert rules.total_jump(100, 149) is None
    assert rules.total_jump(0, 500) is None  # a new material is not a disagreement


def test_quality_scores():
    assert rules.freshness_score("open", "on_time", True) == 1.0
    assert rules.freshness_score("open", "missing", True) == 0.0
    assert rules.freshness_score("late", None, True) == 0.5
    assert rules.freshness_score("on_time", None, False) == 0.0
    assert rules.overall_score(1.0, 0.5, None, 0, 10) == round((1.0 + 0.5 + 1.0) / 3, 3)
    assert rules.overall_score(None, None, None, 0, 0) is None
    assert rules.depot_problems(
        {"region_code": "999999", "lat": 112.5, "lon": 37.8}, {"140105"}
    ) == [
        "region code is not a current GB/T 2260 division",
        "coordinates lie outside China (latitude and longitude swapped?)",
    ]
    assert rules.lot_problems(
        {"production_date": date(2026, 1, 2), "expiry_date": date(2026, 1, 1), "on_hand": 1}, TODAY
    )[:1] == ["expires before it was produced"]
