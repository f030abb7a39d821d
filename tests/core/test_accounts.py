"""Accounts in the web app (core/accounts.py): who manages whom, issued passwords and the forced
change, reset links through the outbox, disabling, the API, the pages, the CSV and the audit."""

import re

import pytest
from sqlalchemy import select

from core import accounts_rules as rules
from core.audit import AuditLog
from core.auth import ADMIN, AGENCY_ADMIN, COMMANDER, OPERATOR, SUPPLIER, VIEWER, User
from core.extensions import db as _db
from tests.conftest import PASSWORD, csrf_token, log_in

NEW_PASSWORD = "Quiet-Lantern-Orchard-47"

# --- pure rules ---------------------------------------------------------------------------------


def test_agency_admins_grant_only_operator_and_agency_admin():
    assert rules.grantable_roles({AGENCY_ADMIN}) == {OPERATOR, AGENCY_ADMIN}
    assert rules.grantable_roles({ADMIN}) >= {ADMIN, COMMANDER, VIEWER, OPERATOR, AGENCY_ADMIN}
    assert SUPPLIER not in rules.grantable_roles({ADMIN, AGENCY_ADMIN})
    assert rules.grantable_roles({OPERATOR, VIEWER}) == set()


def test_agency_admin_sees_its_subtree_only():
    assert rules.can_see({AGENCY_ADMIN}, "/1/2/", "/1/2/5/")
    assert not rules.can_see({AGENCY_ADMIN}, "/1/2/", "/1/3/")
    assert not rules.can_see({AGENCY_ADMIN}, "/1/2/", None)
    assert rules.can_see({ADMIN}, None, None)
    assert not rules.can_see({OPERATOR}, "/1/", "/1/")


def test_agency_admin_cannot_touch_an_account_holding_a_role_it_cannot_grant():
    assert rules.can_manage({AGENCY_ADMIN}, "/1/", "/1/4/", {OPERATOR})
    assert not rules.can_manage({AGENCY_ADMIN}, "/1/", "/1/4/", {COMMANDER})
    assert not rules.can_manage({AGENCY_ADMIN}, "/1/", "/1/4/", {OPERATOR, ADMIN})


def test_roles_added_or_removed_must_be_grantable():
    assert rules.can_assign({AGENCY_ADMIN}, {OPERATOR}, {OPERATOR, AGENCY_ADMIN})
    assert not rules.can_assign({AGENCY_ADMIN}, {OPERATOR}, {COMMANDER})
    assert rules.can_assign({ADMIN}, {SUPPLIER}, {SUPPLIER})  # kept, not granted
    assert not rules.can_assign({ADMIN}, {SUPPLIER}, {VIEWER})  # removing it is not ours


def test_issued_passwords_pass_the_password_policy(app):
    with app.test_request_context():
        from core.passwords import password_problems

        for _ in range(20):
            password = rules.issue_password()
            assert len(password) == 19
            assert password_problems(password, email="someone@example.org") == []


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def tree(make_agency):
    """A province agency with a city below it, and another city outside it."""
    province = make_agency("P-YJT", name="省应急厅", kind="province")
    city = make_agency("C-YJJ", name="市应急局", parent=province)
    other = make_agency("O-YJJ", name="外市应急局")
    return {"province": province, "city": city, "other": other}


def _token(client) -> str:
    return csrf_token(client.get("/").text)


def _outbox(app, recipient):
    from core.outbox import OutboxMessage

    with app.app_context():
        rows = (
            _db.session.execute(
                select(OutboxMessage).filter_by(recipient=recipient).order_by(OutboxMessage.id)
            )
            .scalars()
            .all()
        )
        return [(m.subject, m.body) for m in rows]


def _user(app, email) -> User:
    with app.app_context():
        user = _db.session.execute(select(User).filter_by(email=email)).scalar_one()
        _db.session.expunge(user)
        return user


def _change_password(client, old, new):
    page = client.get("/change")
    return client.post(
        "/change",
        data={
            "password": old,
            "new_password": new,
            "new_password_confirm": new,
            "csrf_token": csrf_token(page.text),
        },
    )


# --- API ----------------------------------------------------------------------------------------


def test_admin_creates_an_operator_with_an_issued_password_and_it_is_audited(
    app, client, login_as, tree
):
    admin = login_as(ADMIN)
    response = client.post(
        "/api/v1/users",
        json={
            "email": "New.Op@Example.org",
            "display_name": "市填报员",
            "roles": [OPERATOR],
            "agency_id": tree["city"],
        },
        headers={"X-CSRFToken": _token(client)},
    )
    assert response.status_code == 201, response.text
    body = response.json
    assert body["user"]["email"] == "New.Op@example.org"
    assert body["user"]["status"] == "must_change" and body["user"]["agency"]["name"] == "市应急局"
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", body["issued_password"])
    with app.app_context():
        entries = (
            _db.session.execute(
                select(AuditLog).filter_by(entity="user", entity_id=str(body["user"]["id"]))
            )
            .scalars()
            .all()
        )
        assert entries and entries[0].user_id == admin["id"]
        assert entries[0].after["roles"] == [OPERATOR] and "password" not in entries[0].after


def test_creating_refuses_bad_input_in_chinese_and_changes_nothing(app, client, login_as, tree):
    login_as(ADMIN)
    headers = {"X-CSRFToken": _token(client)}
    with app.app_context():
        before = _db.session.scalar(select(_db.func.count(User.id)))
    cases = [
        ({"email": "not-an-address", "roles": [OPERATOR], "agency_id": tree["city"]}, 422),
        ({"email": "x@example.org", "roles": [], "agency_id": tree["city"]}, 422),
        ({"email": "x@example.org", "roles": ["root"], "agency_id": tree["city"]}, 422),
        ({"email": "x@example.org", "roles": [OPERATOR]}, 422),  # operator needs an agency
        ({"email": "x@example.org", "roles": [OPERATOR], "agency_id": 10**6}, 422),
        ({"email": "x@example.org", "roles": [SUPPLIER]}, 403),
        ({"email": "x@example.org" + "x" * 300, "roles": [VIEWER]}, 422),
        ({"email": "x@example.org", "roles": [VIEWER], "display_name": "名" * 101}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/v1/users", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.mimetype == "application/problem+json"
    first = client.post(
        "/api/v1/users", json={"email": "dup@example.org", "roles": [VIEWER]}, headers=headers
    )
    assert first.status_code == 201
    again = client.post(
        "/api/v1/users", json={"email": "DUP@example.org", "roles": [VIEWER]}, headers=headers
    )
    assert again.status_code == 409 and "已存在" in again.json["detail"]
    with app.app_context():
        assert _db.session.scalar(select(_db.func.count(User.id))) == before + 1


def test_agency_admin_manages_its_subtree_only(app, client, login_as, make_user, tree):
    login_as(AGENCY_ADMIN, agency=tree["province"])
    headers = {"X-CSRFToken": _token(client)}
    inside = make_user(OPERATOR, agency=tree["city"])
    outside = make_user(OPERATOR, agency=tree["other"])
    commander = make_user(COMMANDER, agency=tree["city"])
    listed = {u["email"] for u in client.get("/api/v1/users?per_page=200").json["items"]}
    assert (
        inside["email"] in listed
        and commander["email"] in listed
        and outside["email"] not in listed
    )
    assert client.get(f"/api/v1/users/{outside['id']}").status_code == 404
    assert client.post(f"/api/v1/users/{outside['id']}/disable", headers=headers).status_code == 404
    assert (
        client.post(f"/api/v1/users/{commander['id']}/disable", headers=headers).status_code == 403
    )
    assert (
        client.patch(
            f"/api/v1/users/{inside['id']}", json={"roles": [COMMANDER]}, headers=headers
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/users/{inside['id']}", json={"agency_id": tree["other"]}, headers=headers
        ).status_code
        == 422
    )
    made = client.post(
        "/api/v1/users",
        json={"email": "a@example.org", "roles": [ADMIN], "agency_id": tree["city"]},
        headers=headers,
    )
    assert made.status_code == 403
    made = client.post(
        "/api/v1/users",
        json={"email": "b@example.org", "roles": [OPERATOR], "agency_id": tree["other"]},
        headers=headers,
    )
    assert made.status_code == 422
    made = client.post(
        "/api/v1/users",
        json={"email": "c@example.org", "roles": [OPERATOR], "agency_id": tree["city"]},
        headers=headers,
    )
    assert made.status_code == 201
    assert (
        client.post(f"/api/v1/users/{inside['id']}/disable", headers=headers).json["status"]
        == "disabled"
    )
    assert _user(app, outside["email"]).active and _user(app, commander["email"]).active


def test_operators_viewers_and_commanders_manage_no_one(client, login_as, make_user, tree):
    target = make_user(OPERATOR, agency=tree["city"])
    for role in (OPERATOR, VIEWER, COMMANDER):
        login_as(role, agency=tree["province"])
        assert client.get("/api/v1/users").status_code == 403
        assert client.get("/admin/users").status_code == 403
        assert client.post(
            f"/api/v1/users/{target['id']}/disable", headers={"X-CSRFToken": _token(client)}
        ).status_code in (403, 404)
        client.post("/logout", data={"csrf_token": _token(client)})


def test_nobody_disables_themselves_or_changes_their_own_roles(client, login_as):
    admin = login_as(ADMIN)
    headers = {"X-CSRFToken": _token(client)}
    assert client.post(f"/api/v1/users/{admin['id']}/disable", headers=headers).status_code == 403
    assert (
        client.patch(
            f"/api/v1/users/{admin['id']}", json={"roles": [VIEWER]}, headers=headers
        ).status_code
        == 403
    )
    renamed = client.patch(
        f"/api/v1/users/{admin['id']}", json={"display_name": "管理员"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json["display_name"] == "管理员"


def test_list_filters_by_text_role_agency_and_status(client, login_as, make_user, tree):
    login_as(ADMIN)
    op = make_user(OPERATOR, agency=tree["city"], email="zhang.san@example.org")
    make_user(VIEWER, agency=tree["other"], email="li.si@example.org")
    headers = {"X-CSRFToken": _token(client)}
    client.post(f"/api/v1/users/{op['id']}/disable", headers=headers)

    def emails(query):
        return {u["email"] for u in client.get("/api/v1/users?per_page=200&" + query).json["items"]}

    assert emails("q=zhang") == {"zhang.san@example.org"}
    assert emails("q=%25") == set()  # a LIKE wildcard is taken literally
    assert emails(f"role={VIEWER}") >= {
        "li.si@example.org"
    } and "zhang.san@example.org" not in emails(f"role={VIEWER}")
    assert emails(f"agency_id={tree['province']}") == {"zhang.san@example.org"}
    assert emails("status=disabled") == {"zhang.san@example.org"}
    assert client.get("/api/v1/users?status=gone").status_code == 422
    assert client.get("/api/v1/users?q=" + "x" * 101).status_code == 422


def test_sharing_client_accounts_are_not_listed(app, client, login_as, tree):
    login_as(ADMIN)
    from reserve.sharing import clients as sharing_clients

    with app.app_context():
        admin = (
            _db.session.execute(select(User).filter(User.roles.any(name=ADMIN))).scalars().first()
        )
        made, _token_value = sharing_clients.register_client(
            admin, name="外部系统", agency_id=tree["city"], scopes=["read:stock"]
        )
        client_user = made.user_id
    listed = {u["id"] for u in client.get("/api/v1/users?per_page=200").json["items"]}
    assert client_user not in listed
    assert client.get(f"/api/v1/users/{client_user}").status_code == 404


# --- issued passwords, the forced change, tokens --------------------------------------------------


def test_an_issued_password_must_be_changed_before_anything_else(
    app, client, login_as, make_user, tree
):
    login_as(ADMIN)
    target = make_user(OPERATOR, agency=tree["city"])
    issued = client.post(
        f"/api/v1/users/{target['id']}/password",
        json={"method": "issue"},
        headers={"X-CSRFToken": _token(client)},
    ).json["issued_password"]
    client.post("/logout", data={"csrf_token": _token(client)})
    assert (
        log_in(client, target["email"], PASSWORD).status_code == 200
    )  # the old password no longer works
    assert log_in(client, target["email"], issued).status_code == 302
    for path in ("/", "/depots", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/change"), path
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.json["type"].endswith("password-change-required")
    page = client.get("/change")
    assert page.status_code == 200 and "请先设置自己的密码" in page.text
    weak = _change_password(client, issued, "password123")
    assert weak.status_code == 200 and _user(app, target["email"]).must_change_password
    assert _change_password(client, issued, NEW_PASSWORD).status_code == 302
    user = _user(app, target["email"])
    assert not user.must_change_password and user.password_changed_at is not None
    assert client.get("/").status_code == 200
    with app.app_context():
        changes = [
            e.after
            for e in _db.session.execute(
                select(AuditLog).filter_by(entity="user", entity_id=str(target["id"]))
            ).scalars()
        ]
    assert any(c.get("must_change_password") is True for c in changes)
    assert any(c.get("must_change_password") is False for c in changes)


def test_api_tokens_of_a_user_who_must_change_the_password_are_refused(
    app, client, login_as, make_user, tree
):
    target = make_user(OPERATOR, agency=tree["city"])
    with app.app_context():
        user = _db.session.get(User, target["id"])
        token = user.get_auth_token()
    assert client.get("/api/v1/me", headers={"Authentication-Token": token}).status_code == 200
    with app.app_context():
        user = _db.session.get(User, target["id"])
        user.must_change_password = True
        _db.session.commit()
        fresh = user.get_auth_token()
    for value in (token, fresh):
        assert (
            client.get(f"/api/v1/me?auth_token={value}").status_code == 400
        )  # never in the URL (core/tokens.py)
        refused = client.get("/api/v1/me", headers={"Authentication-Token": value})
        assert refused.status_code == 403, refused.text
        assert "API" in refused.json["detail"] and "修改" in refused.json["detail"]


def test_issuing_a_password_revokes_the_users_tokens_and_sessions(
    app, client, login_as, make_user, tree
):
    target = make_user(OPERATOR, agency=tree["city"])
    with app.app_context():
        token = _db.session.get(User, target["id"]).get_auth_token()
    other = app.test_client()
    assert log_in(other, target["email"]).status_code == 302
    login_as(ADMIN)
    client.post(
        f"/api/v1/users/{target['id']}/password",
        json={"method": "issue"},
        headers={"X-CSRFToken": _token(client)},
    )
    assert other.get("/agencies").status_code == 302  # back to the login
    with app.app_context():
        _db.session.get(
            User, target["id"]
        ).must_change_password = False  # only the token's revocation counts
        _db.session.commit()
    assert (
        app.test_client().get("/api/v1/me", headers={"Authentication-Token": token}).status_code
        == 401
    )


# --- reset links through the outbox -------------------------------------------------------------


def _reset_link(app, email) -> str:
    bodies = [body for subject, body in _outbox(app, email) if "/reset/" in body]
    assert bodies, _outbox(app, email)
    return re.search(r"http://[^\s]+/reset/[^\s]+", bodies[-1]).group(0)


def test_self_service_reset_goes_through_the_outbox_and_works_once(app, client, make_user, tree):
    target = make_user(OPERATOR, agency=tree["city"])
    page = client.get("/reset")
    assert page.status_code == 200 and "忘记密码" in page.text
    sent = client.post(
        "/reset", data={"email": target["email"], "csrf_token": csrf_token(page.text)}
    )
    assert sent.status_code in (200, 302)
    subject, body = _outbox(app, target["email"])[-1]
    assert "密码" in subject and "只能使用一次" in body
    link = _reset_link(app, target["email"]).replace("http://localhost", "")
    form = client.get(link)
    assert form.status_code == 200 and "设置新密码" in form.text
    done = client.post(
        link,
        data={
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(form.text),
        },
    )
    assert done.status_code == 302
    assert log_in(client, target["email"], NEW_PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": _token(client)})
    again = client.get(link)
    assert again.status_code == 302 and again.location.endswith(
        "/reset"
    )  # used: the link no longer works
    assert _user(app, target["email"]).password_changed_at is not None
    with app.app_context():
        entries = (
            _db.session.execute(
                select(AuditLog)
                .filter_by(entity="user", entity_id=str(target["id"]))
                .order_by(AuditLog.id)
            )
            .scalars()
            .all()
        )
        entry = [e for e in entries if (e.after or {}).get("password_changed_at")][-1]
        assert entry.actor == target["email"]  # not "anonymous": nobody was logged in


def test_reset_of_an_unknown_address_looks_the_same_and_queues_nothing(app, client):
    page = client.get("/reset")
    response = client.post(
        "/reset", data={"email": "nobody@example.org", "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code in (200, 302)
    assert _outbox(app, "nobody@example.org") == []


def test_reset_requests_are_rate_limited(app, client, make_user):
    page = client.get("/reset")
    token = csrf_token(page.text)
    codes = [
        client.post("/reset", data={"email": "nobody@example.org", "csrf_token": token}).status_code
        for _ in range(7)
    ]
    assert 429 in codes


def test_admin_sends_a_reset_link_that_clears_a_forced_change(
    app, client, login_as, make_user, tree
):
    login_as(ADMIN)
    target = make_user(OPERATOR, agency=tree["city"])
    headers = {"X-CSRFToken": _token(client)}
    client.post(f"/api/v1/users/{target['id']}/password", json={"method": "issue"}, headers=headers)
    sent = client.post(
        f"/api/v1/users/{target['id']}/password", json={"method": "link"}, headers=headers
    )
    assert sent.status_code == 200 and sent.json["issued_password"] is None
    client.post("/logout", data={"csrf_token": _token(client)})
    link = _reset_link(app, target["email"]).replace("http://localhost", "")
    form = client.get(link)
    client.post(
        link,
        data={
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(form.text),
        },
    )
    assert log_in(client, target["email"], NEW_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        events = (
            _db.session.execute(select(AuditLog).filter_by(entity="user", action="reset-link"))
            .scalars()
            .all()
        )
        assert events and events[-1].entity_id == str(target["id"])


# --- disabling ----------------------------------------------------------------------------------


def test_a_disabled_account_is_logged_out_refused_and_can_be_enabled_again(
    app, client, login_as, make_user, tree
):
    target = make_user(OPERATOR, agency=tree["city"])
    with app.app_context():
        token = _db.session.get(User, target["id"]).get_auth_token()
    other = app.test_client()
    assert log_in(other, target["email"]).status_code == 302
    login_as(ADMIN)
    headers = {"X-CSRFToken": _token(client)}
    assert (
        client.post(f"/api/v1/users/{target['id']}/disable", headers=headers).json["active"]
        is False
    )
    assert other.get("/agencies").status_code == 302
    assert log_in(app.test_client(), target["email"]).status_code == 200
    assert (
        app.test_client().get("/api/v1/me", headers={"Authentication-Token": token}).status_code
        == 401
    )
    assert (
        client.post(f"/api/v1/users/{target['id']}/enable", headers=headers).json["active"] is True
    )
    assert log_in(app.test_client(), target["email"]).status_code == 302
    assert (
        app.test_client().get("/api/v1/me", headers={"Authentication-Token": token}).status_code
        == 401
    )


# --- pages --------------------------------------------------------------------------------------


def test_pages_list_create_edit_and_export_in_chinese(app, client, login_as, make_user, tree):
    login_as(ADMIN)
    make_user(OPERATOR, agency=tree["city"], email="wang.wu@example.org")
    page = client.get("/admin/users?q=wang")
    assert (
        page.status_code == 200 and "用户管理" in page.text and "wang.wu@example.org" in page.text
    )
    assert "市应急局" in page.text
    form = client.get("/admin/users/new")
    assert "发放一次性密码" in form.text
    created = client.post(
        "/admin/users/new",
        data={
            "email": "zhao.liu@example.org",
            "display_name": "<b>赵六</b>",
            "roles": [OPERATOR],
            "agency_id": tree["city"],
            "password_method": "issue",
            "csrf_token": csrf_token(form.text),
        },
    )
    assert created.status_code == 200 and 'id="issued-password"' in created.text
    assert "&lt;b&gt;赵六&lt;/b&gt;" in created.text or "zhao.liu@example.org" in created.text
    assert "<b>赵六</b>" not in created.text
    refused = client.post(
        "/admin/users/new",
        data={
            "email": "bad",
            "roles": [OPERATOR],
            "agency_id": tree["city"],
            "csrf_token": csrf_token(form.text),
        },
    )
    assert refused.status_code == 422 and "有效" in refused.text
    user = _user(app, "zhao.liu@example.org")
    edit = client.get(f"/admin/users/{user.id}")
    assert edit.status_code == 200 and "停用账号" in edit.text
    saved = client.post(
        f"/admin/users/{user.id}",
        data={
            "display_name": "赵六",
            "roles": [OPERATOR, AGENCY_ADMIN],
            "agency_id": tree["city"],
            "csrf_token": csrf_token(edit.text),
        },
    )
    assert saved.status_code == 303 and _user(app, "zhao.liu@example.org").display_name == "赵六"
    client.post(
        f"/admin/users/{user.id}/status", data={"active": "0", "csrf_token": csrf_token(edit.text)}
    )
    assert not _user(app, "zhao.liu@example.org").active
    csv = client.get(f"/admin/users.csv?agency_id={tree['city']}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("email,display_name,roles")
    assert "zhao.liu@example.org" in text and "停用" in text and "市应急局" in text
    assert "user-management" not in text


def test_the_menu_offers_user_management_to_admins_and_agency_admins_only(client, login_as, tree):
    login_as(AGENCY_ADMIN, agency=tree["province"])
    assert "用户管理" in client.get("/").text
    client.post("/logout", data={"csrf_token": _token(client)})
    login_as(OPERATOR, agency=tree["province"])
    home = client.get("/").text
    assert (
        "用户管理" not in home and 'href="/change"' in home
    )  # everyone may change their own password


# --- a fresh production database ----------------------------------------------------------------

from tests.core.test_migrations import MIGRATIONS, empty_database  # noqa: E402,F401 (fixture)


def test_migrating_an_empty_database_creates_every_role(empty_database):  # noqa: F811
    from flask_migrate import upgrade

    from core import create_app
    from core.auth import ROLES

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        names = set(_db.session.scalars(select(_db.text("name")).select_from(_db.table("role"))))
        _db.session.remove()
        _db.engine.dispose()
    assert names == set(ROLES)
