"""The assessment as a durable job run by the worker (committed data: the worker reports
progress on connections of its own), and the nightly assessment's to-do."""

from flask_security import hash_password
from sqlalchemy import select

from core import background, worker
from core.auth import ADMIN, COMMANDER
from core.extensions import db as _db
from core.extensions import security
from core.organisation import Agency
from dispatch.readiness import jobs, todos
from dispatch.readiness.models import ReadinessRun
from tests import factories
from tests.dispatch.readiness.test_assessment import _ledger_state, build


def _account(email, role, agency_id=None):
    user = security.datastore.create_user(
        email=email, password=hash_password("Rdy-Horse-9-long"), roles=[role], agency_id=agency_id
    )
    _db.session.commit()
    return user.id


def test_the_worker_assesses_keeps_the_run_and_moves_no_stock(app, committed):
    with app.app_context():
        agency = Agency(code="RDY-J", name="备战作业局", kind="city", path="")
        _db.session.add(agency)
        _db.session.flush()
        agency.path = f"/{agency.id}/"
        admin = _account("rdy-admin@example.org", ADMIN, agency.id)
        world = build(_db, agency.id, {"id": admin})
        before = _ledger_state(_db)
        job_id = jobs.start_assessment(factories.user(admin), [world["scenario"]], budget=5000).id
        assert background.claim("rdy:1") == job_id
    assert worker.run_job(app, job_id, "rdy:1") == "done"
    with app.app_context():
        job = _db.session.get(background.BackgroundJob, job_id)
        run = _db.session.get(ReadinessRun, job.result["run_ids"][0])
        assert run.score == 73.0 and run.job_id == job_id
        assert job.result["recommendations"]["moves"]
        assert _ledger_state(_db) == before  # nothing reserved or moved

        # the nightly job queues the standard scenarios as their last editor; once run, a
        # county under the threshold becomes a to-do for command staff
        assert jobs.nightly()["job_id"] is not None
        nightly_id = background.claim("rdy:2")
    assert worker.run_job(app, nightly_id, "rdy:2") == "done"
    with app.app_context():
        commander = factories.user(_account("rdy-cmd@example.org", COMMANDER))
        app.config["READINESS_WARN_THRESHOLD"] = 60.0
        group = todos.low_readiness(commander)
        assert group.count == 1 and group.items[0].params == {"scenario_id": world["scenario"]}
        app.config["READINESS_WARN_THRESHOLD"] = 50.0
        assert todos.low_readiness(commander).count == 0  # C2 scores 51.25
        nightly_runs = (
            _db.session.execute(select(ReadinessRun).where(ReadinessRun.nightly.is_(True)))
            .scalars()
            .all()
        )
        assert len(nightly_runs) == 1
        assert _ledger_state(_db) == before
