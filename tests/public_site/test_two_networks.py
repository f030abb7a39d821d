"""The portal across two networks (issue 21): the private network's app publishes to the
extranet's through signed bundles, and what the public writes outside comes back in. The
extranet's database never holds a depot, a lot, a warning, an agency, a staff account or a
restricted figure, checked table by table after the demo province has been published."""

import pytest
from sqlalchemy import inspect, select, text

from core.extensions import db
from public_site.models import Feedback, Notice
from reserve.models import Depot
from reserve.stock import rollup
from reserve.stock.models import StockLot
from tests.two_networks import TwoNetworks, database_pair

CANARY_DEPOT = "CANARY绝密库"
CANARY_FIGURE = 98_765_431  # 8 digits: no timestamp's microseconds can hold it
REGISTRY_TABLES = ("depot", "stock_lot", "movement", "agency", "warning", "incident", "user")


def _seed_internal(networks):
    runner = networks.internal.test_cli_runner()
    result = runner.invoke(args=["demo", "init"])
    assert result.exit_code == 0, result.output
    with networks.internal.app_context():
        public_depot = db.session.execute(
            select(Depot).where(Depot.classification == "public")
        ).scalars().first()  # fmt: skip
        secret = Depot(agency_id=public_depot.agency_id, code="CANARY-R", name=CANARY_DEPOT,
                       region_code=public_depot.region_code, classification="restricted",
                       status="active")  # fmt: skip
        db.session.add(secret)
        db.session.flush()
        material = db.session.execute(select(StockLot.material_id)).scalars().first()
        db.session.add(
            StockLot(depot_id=secret.id, material_id=material, lot_no="CANARY-LOT",
                     owner_agency_id=public_depot.agency_id, classification="restricted",
                     on_hand=CANARY_FIGURE, reserved=0)
        )  # fmt: skip
        db.session.commit()
        rollup.rebuild()
        db.session.commit()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def networks(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"networks-{request.param}")
    pair = database_pair(request.param, root)
    urls = next(pair)
    networks = TwoNetworks(urls, root)
    _seed_internal(networks)
    networks.first_round = networks.exchange()
    yield networks
    networks.dispose()
    pair.close()


def _rows(app, table):
    with app.app_context():
        return db.session.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar()


def test_the_first_round_publishes_the_reference_the_stock_and_the_notices(networks):
    sent = networks.first_round["sent"]
    assert sent["internal"]["seq"] == 1 and sent["public"] == {"sent": 0}
    assert set(sent["internal"]["counts"]) == {
        "reference",
        "public_stock",
        "notices",
        "supplier_list",
        "board",
    }
    assert networks.first_round["received"]["public"]["applied"] == 1


def test_the_extranet_database_holds_nothing_of_the_registry(networks):
    with networks.public.app_context():
        tables = inspect(db.engine).get_table_names()
        assert set(REGISTRY_TABLES) <= set(tables)  # same schema, empty of the registry
        filled = {t: _rows(networks.public, t) for t in tables}
    assert {t: filled[t] for t in REGISTRY_TABLES} == {t: 0 for t in REGISTRY_TABLES}
    allowed = {"region", "category", "material", "published_stock", "notice", "exchange_cursor",
               "exchange_log", "alembic_version", "role", "audit_log", "supplier",
               "supplier_offer", "board_demand"}  # fmt: skip
    assert {t for t, n in filled.items() if n} <= allowed


def test_no_restricted_figure_or_name_reaches_the_extranet(networks):
    with networks.public.app_context():
        tables = inspect(db.engine).get_table_names()
        dumped = []
        for table in tables:
            for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
                dumped.append(" ".join(str(value) for value in row))
    text_outside = "\n".join(dumped)
    assert CANARY_DEPOT not in text_outside and str(CANARY_FIGURE) not in text_outside
    with networks.internal.app_context():
        names = db.session.execute(select(Depot.name)).scalars().all()
    assert not [name for name in names if name in text_outside]


def test_the_extranet_overview_shows_what_the_private_network_publishes(networks):
    inside = networks.internal.test_client()
    # the private network serves no public page: its overview is read through the service
    with networks.internal.test_request_context():
        from public_site.services.overview import public_overview

        expected = public_overview()
    outside = networks.public.test_client().get("/api/v1/public/overview").get_json()
    assert outside["weight_t"] == expected["weight_t"] > 0
    assert [c["quantity"] for c in outside["by_city"]] == [
        c["quantity"] for c in expected["by_city"]
    ]
    assert inside.get("/api/v1/public/overview").status_code == 404


def test_a_notice_published_inside_appears_outside_and_a_withdrawn_one_goes(networks):
    with networks.internal.app_context():
        notice = Notice(kind="notice", title="防汛物资调拨通知", body="正文", published=True)
        db.session.add(notice)
        db.session.commit()
        notice_id = notice.id
    networks.exchange()
    page = networks.public.test_client().get("/portal/notices").get_data(as_text=True)
    assert "防汛物资调拨通知" in page
    with networks.internal.app_context():
        db.session.get(Notice, notice_id).published = False
        db.session.commit()
    networks.exchange()
    page = networks.public.test_client().get("/portal/notices").get_data(as_text=True)
    assert "防汛物资调拨通知" not in page


def test_feedback_written_outside_is_answered_inside_and_the_answer_shows_outside(networks):
    outside = networks.public.test_client()
    page = outside.get("/portal/feedback/new").get_data(as_text=True)
    from tests.conftest import csrf_token

    form = {
        "csrf_token": csrf_token(page),
        "category": "question",
        "text": "帐篷储备够用吗？请公开。",
    }
    assert outside.post("/portal/feedback/new", data=form).status_code in (302, 303)
    networks.exchange()
    with networks.internal.app_context():
        item = db.session.execute(
            select(Feedback).where(Feedback.external_ref.is_not(None))
        ).scalar_one()  # fmt: skip
        assert item.text == "帐篷储备够用吗？请公开。" and item.answer is None
        item.answer, item.is_public = "储备充足，详见储备概况。", True
        db.session.commit()
    networks.exchange()
    page = outside.get("/portal/feedback").get_data(as_text=True)
    assert "储备充足，详见储备概况。" in page


def test_a_message_that_fails_the_form_rules_is_not_taken_inside(networks):
    with networks.public.app_context():
        db.session.add(Feedback(category="question", text="短"))  # under the form's 5 characters
        db.session.add(Feedback(category="bribe", text="不是一个类别的留言"))
        db.session.commit()
    before = _rows(networks.internal, "feedback")
    result = networks.exchange()
    assert result["received"]["internal"]["applied"] == 1  # the bundle goes through ...
    assert _rows(networks.internal, "feedback") == before  # ... its bad messages do not


def _register_outside(networks, code: str, name: str):
    import io

    from tests.conftest import csrf_token
    from tests.public_site.portal_helpers import PNG

    with networks.public.app_context():
        material = db.session.execute(select(text("id")).select_from(text("material"))).scalar()
    client = networks.public.test_client()
    page = client.get("/portal/register").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(page), "email": f"{code[-6:]}@example.org",
        "password": "Long-enough-9", "password_confirm": "Long-enough-9", "name": name,
        "credit_code": code, "legal_representative": "赵明", "contact_name": "钱经理",
        "contact_mobile": "139 0351 0001", "address": "太原市小店区坞城路1号",
        "region_code": "140100", "offers-0-material_id": str(material),
        "offers-0-quantity_in_stock": "300", "offers-0-capacity_per_day": "40",
        "offers-0-lead_time_h": "12", "offers-0-service_regions": ["140100"],
        "licence": (io.BytesIO(PNG), "营业执照.png"),
    }  # fmt: skip
    response = client.post("/portal/register", data=form, content_type="multipart/form-data")
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:3000]
    return client


def test_a_registration_made_outside_is_reviewed_inside_and_the_approval_shows_outside(networks):
    from public_site.models import Supplier
    from public_site.services.uploads import path_of

    enterprise = _register_outside(networks, "914403001922038216", "华为技术有限公司")
    networks.exchange()
    with networks.internal.app_context():
        inside = db.session.execute(
            select(Supplier).where(Supplier.credit_code == "914403001922038216")
        ).scalar_one()  # fmt: skip
        assert inside.status == "pending" and inside.user_id is None and inside.external_ref
        (document,) = inside.documents
        assert path_of(document.stored_name).read_bytes().startswith(b"\x89PNG")
        assert document.original_name == "营业执照.png"
        inside.status, inside.review_reason = "approved", None
        db.session.commit()
    networks.exchange()
    from tests.conftest import log_in

    log_in(enterprise, "038216@example.org", "Long-enough-9")
    page = enterprise.get("/portal/enterprise").get_data(as_text=True)
    assert "已通过" in page
    listed = networks.public.test_client().get("/api/v1/public/suppliers").get_json()
    names = [s["name"] for s in listed["items"]]
    assert "华为技术有限公司" in names
    with networks.internal.app_context():
        inside_names = db.session.execute(
            select(Supplier.name).where(
                Supplier.status == "approved", Supplier.suspended_at.is_(None)
            )
        ).scalars().all()  # fmt: skip
    assert sorted(names) == sorted(
        inside_names
    )  # approved and not suspended inside: listed outside


def test_a_review_of_an_earlier_submission_does_not_overwrite_a_resubmission(networks):
    from public_site.models import Supplier

    _register_outside(networks, "91110000802100433B", "北京某应急装备有限公司")
    networks.exchange()
    with networks.public.app_context():
        outside = db.session.execute(
            select(Supplier).where(Supplier.credit_code == "91110000802100433B")
        ).scalar_one()  # fmt: skip
        from datetime import timedelta

        outside.submitted_at = outside.submitted_at + timedelta(minutes=5)  # resubmitted since
        db.session.commit()
    with networks.internal.app_context():
        inside = db.session.execute(
            select(Supplier).where(Supplier.credit_code == "91110000802100433B")
        ).scalar_one()  # fmt: skip
        inside.status, inside.review_reason = "changes_requested", "执照模糊"
        db.session.commit()
    networks.exchange()
    with networks.public.app_context():
        outside = db.session.execute(
            select(Supplier).where(Supplier.credit_code == "91110000802100433B")
        ).scalar_one()  # fmt: skip
        assert outside.status == "pending"


def test_a_registration_that_fails_the_rules_inside_is_not_queued(networks):
    from public_site.models import Supplier

    with networks.public.app_context():
        region = db.session.execute(select(text("code")).select_from(text("region"))).scalar()
        db.session.add(
            Supplier(name="伪造企业", credit_code="911100000000000000", legal_representative="某",
                     contact_name="某", contact_mobile="13900000000", address="某地",
                     region_code=region, status="pending")
        )  # fmt: skip
        db.session.commit()
    networks.exchange()
    with networks.internal.app_context():
        assert not db.session.execute(
            select(Supplier).where(Supplier.name == "伪造企业")
        ).scalar()  # fmt: skip


def test_a_call_for_supply_crosses_out_and_an_answer_comes_back_in(networks):
    from public_site.models import BoardDemand, BoardOffer, Supplier

    _register_outside(networks, "91330100716105852F", "阿里巴巴（中国）有限公司")
    networks.exchange()
    with networks.internal.app_context():
        inside = db.session.execute(
            select(Supplier).where(Supplier.credit_code == "91330100716105852F")
        ).scalar_one()  # fmt: skip
        inside.status = "approved"
        db.session.commit()
        call = db.session.execute(
            select(BoardDemand).where(BoardDemand.source_kind == "incident",
                                      BoardDemand.status == "open")
        ).scalars().first()  # fmt: skip
        call_id, call_title = call.id, call.title
    networks.exchange()
    board = networks.public.test_client().get("/portal/board").get_data(as_text=True)
    assert call_title in board
    with networks.public.app_context():
        enterprise = db.session.execute(
            select(Supplier).where(Supplier.credit_code == "91330100716105852F")
        ).scalar_one()  # fmt: skip
        assert enterprise.status == "approved"
        region = db.session.execute(select(text("code")).select_from(text("region"))).scalar()
        answer = BoardOffer(demand_id=call_id, supplier_id=enterprise.id, offerer_name=enterprise.name,
                            contact="13903510001", quantity=10, lead_time_h=12,
                            from_region_code=region, note="十日内送达")  # fmt: skip
        forged = BoardOffer(demand_id=call_id, supplier_id=None, offerer_name="冒名者",
                            contact="13900000000", quantity=10, lead_time_h=1,
                            from_region_code=region)  # fmt: skip
        db.session.add_all([answer, forged])
        db.session.commit()
        answer_ref = answer.id
    networks.exchange()
    with networks.internal.app_context():
        offers = db.session.execute(
            select(BoardOffer).where(BoardOffer.external_ref.is_not(None))
        ).scalars().all()  # fmt: skip
        assert [(o.external_ref, o.offerer_name, o.quantity) for o in offers] == [
            (answer_ref, "阿里巴巴（中国）有限公司", 10)
        ]  # the answer without an approved enterprise stayed outside
        offers[0].status, offers[0].matched_quantity = "matched", 10
        db.session.commit()
    networks.exchange()
    with networks.public.app_context():
        answer = db.session.get(BoardOffer, answer_ref)
        assert (answer.status, answer.matched_quantity) == ("matched", 10)
