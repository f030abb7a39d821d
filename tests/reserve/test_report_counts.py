"""A report's stock row is a count of the lot as it is when applied (issue 15, items 2 and 3)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.extensions import db as _db
from core.timeutil import utcnow
from reserve.stock.models import Movement, StockLot
from reserve.reporting.services import SubmissionInvalid
from reserve.stock import ledger
from tests import factories
from tests.reserve.test_reporting import apply, assert_ledger_consistent, on_hand, stock_csv, submit
from tests.reserve.test_reporting import world  # noqa: F401 (a fixture)


def test_a_report_count_is_dated_after_a_movement_booked_minutes_ahead(app, world):  # noqa: F811
    """A receipt dated 3 minutes ahead (within the clock tolerance) is already on the shelf the
    report counts: the count follows it in time, so a replay in time order agrees."""
    with app.app_context():
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "100", "", ""]]))
        lot_id = _db.session.execute(select(StockLot.id).filter_by(lot_no="L1")).scalar_one()
        ahead = utcnow() + timedelta(minutes=3)
        ledger.record_issue(factories.user(world["operator"]), lot_id, 30, occurred_at=ahead)
        apply(world, stock_csv([["RP-D1", "1010101001", "", "L1", "50", "", ""]]))
        count = (
            _db.session.execute(
                select(Movement).where(Movement.lot_id == lot_id).order_by(Movement.id.desc())
            )
            .scalars()
            .first()
        )
        assert (count.kind, count.on_hand_delta) == ("count", -20)
        assert count.occurred_at >= ahead
        assert on_hand(world["depot"], "L1") == 50
        assert_ledger_consistent()


def test_a_report_row_above_the_quantity_bound_is_a_cell_error(app, world):  # noqa: F811
    with app.app_context():
        with pytest.raises(SubmissionInvalid) as refused:
            submit(
                world,
                stock_csv(
                    [
                        ["RP-D1", "1010101001", "", "L1", "1000000001", "", ""],
                        ["RP-D1", "1010101001", "", "L2", str(2**62), "", ""],
                    ]
                ),
            )
        cells = refused.value.errors["cells"]
        assert len(cells) == 2 and all("1000000000" in str(cell) for cell in cells), cells
        assert on_hand(world["depot"], "L1") is None
