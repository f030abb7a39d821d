"""Issue 17 item 11: the incident form speaks the levels' names, offers counties grouped by
city, takes a start time in local time, and the server refuses a subtype of another type."""

from datetime import datetime, timedelta

from sqlalchemy import select

from core.auth import COMMANDER
from core.extensions import db as _db
from dispatch import rules
from dispatch.models import Incident
from reserve.services.reference import load_regions
from tests.conftest import csrf_token


def test_a_start_time_is_plausible_between_2000_and_now():
    now = datetime(2026, 12, 4, 10, 0)
    assert rules.is_plausible_start(now - timedelta(days=3), now)
    assert rules.is_plausible_start(now + timedelta(minutes=4), now)  # clock drift
    assert not rules.is_plausible_start(now + timedelta(hours=2), now)
    assert not rules.is_plausible_start(datetime(1999, 12, 31), now)


def _form(client):
    page = client.get("/incidents")
    assert page.status_code == 200
    return page.text


def _create(client, page, **fields):
    data = {
        "csrf_token": csrf_token(page),
        "title": "测试暴雨",
        "incident_type": "natural_disaster",
        "level": "III",
        "region_code": "140122",
        **fields,
    }
    return client.post("/incidents", data=data)


def test_the_form_names_levels_groups_counties_and_records_the_local_start_time(
    app, db, client, login_as
):
    with app.app_context():
        load_regions()
    login_as(COMMANDER)
    page = _form(client)
    assert "Ⅲ级（较大）" in page and "Ⅰ级（特别重大）" in page
    assert '<optgroup label="太原市"><option value="140100">太原市（全市）</option>' in page
    assert '<option value="140122">阳曲县</option>' in page
    assert 'type="datetime-local" name="started_at"' in page
    assert _create(client, page, started_at="2026-07-20T08:30", subtype="flood").status_code == 303
    with app.app_context():
        incident = _db.session.execute(select(Incident).filter_by(title="测试暴雨")).scalar_one()
        assert incident.started_at == datetime(
            2026, 7, 20, 0, 30
        )  # 08:30 Beijing time is 00:30 UTC
        assert incident.region_code == "140122"
    assert "Ⅲ级（较大）" in client.get("/incidents").text


def test_a_wrong_subtype_or_a_future_start_changes_nothing(app, db, client, login_as):
    with app.app_context():
        load_regions()
    login_as(COMMANDER)
    page = _form(client)
    for fields in (
        {"subtype": "mine"},
        {"started_at": "2099-01-01T00:00"},
        {"started_at": "not a time"},
    ):
        response = _create(client, page, **fields)
        assert response.status_code == 303 and response.headers["Location"].endswith("/incidents")
    with app.app_context():
        assert _db.session.scalar(select(Incident.id)) is None
    text = client.get("/incidents").text
    assert "发生时间不是有效的日期和时间" in text or "发生时间应在" in text
