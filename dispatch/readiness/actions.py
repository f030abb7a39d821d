"""Turning a recommendation into stock work: a recommended transfer is made through the ledger
(the caller needs write rights on both depots, as for any transfer); purchases become a
procurement request sheet."""

from flask_babel import gettext as _

from core import background
from core.errors import Conflict, NotFound
from dispatch.rules import fefo
from reserve.stock import availability, ledger, queries
from core.timeutil import local_today

from .scenarios import require_editor


def _advice(user, job_id: int) -> dict:
    require_editor(user)
    job = background.get_job(user, job_id, "readiness")
    advice = (job.result or {}).get("recommendations")
    if job.status != "done" or not advice:
        raise NotFound(_("This assessment has no recommendations."))
    return advice


def make_transfer(user, job_id: int, index: int) -> dict:
    """Move the recommended units, first-expiring lots first; each lot's transfer commits as
    one (ledger.record_transfer). Refused (409) when the depot no longer holds them."""
    advice = _advice(user, job_id)
    if not 0 <= index < len(advice["moves"]):
        raise NotFound(_("No such recommendation."))
    move = advice["moves"][index]
    reference = transfer_reference(job_id, index)
    if is_made(reference):
        raise Conflict(_("This transfer has been made already."))
    lots = [
        (lot.lot_id, lot.available, None)
        for lot in availability.drawable_lots(user, [int(move["material"])], local_today())
        if lot.depot_id == move["from_depot"] and lot.reserve_type == "physical"
    ]
    taken = fefo(lots, move["quantity"])
    if taken is None:
        raise Conflict(_("The depot no longer holds the recommended units."))
    for lot_id, units in taken:
        ledger.record_transfer(
            user,
            lot_id,
            move["to_depot"],
            units,
            reason=_("Readiness recommendation"),
            reference=reference,
        )
    return {"moved": move["quantity"], "lots": len(taken), "reference": reference}


def transfer_reference(job_id: int, index: int) -> str:
    """The ledger reference of recommended transfer `index` of a job (both legs, every lot)."""
    return f"RDY-{job_id}-{index}"


def is_made(reference: str) -> bool:
    return bool(queries.deltas_of(reference))


def procurement_rows(user, job_id: int, named: dict) -> tuple[list[str], list[list]]:
    _advice(user, job_id)
    header = [_("Depot"), _("Material"), _("Quantity"), _("Unit"), _("Cost (yuan)")]
    rows = [
        [p["depot_name"], p["material_name"], p["quantity"], p["unit"], p["cost"]]
        for p in named["purchases"]
    ]
    return header, rows
