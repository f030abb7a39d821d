"""The shareable kinds of data (信息资源): which table, who owns a row, its classification, and
its fields with their meaning. The feeds, exports and the data dictionary are built from this."""

from dataclasses import dataclass
from typing import Callable

from flask_babel import lazy_gettext as _l

from ..credit.models import CreditEntry
from ..models import Depot, EmergencyPlan, TransportCapacity
from ..reporting.models import Submission
from ..stock.queries import lot_model
from ..warnings.models import ReserveWarning


@dataclass(frozen=True)
class Field:
    key: str
    type: str  # integer, number, text, code, date, datetime, boolean, list
    label: object  # lazy, translated
    get: Callable


@dataclass(frozen=True)
class Resource:
    kind: str
    title: object
    description: object
    model: type
    owner_attr: str
    classified: bool
    cadence_kind: str | None  # the reporting kind whose cadence applies (None: on change)
    fields: tuple[Field, ...]

    @property
    def field_keys(self) -> list[str]:
        return [f.key for f in self.fields]

    @property
    def scope(self) -> str:
        return f"read:{self.kind}"

    def owner_id(self, record) -> int:
        return getattr(record, self.owner_attr)

    def classification(self, record) -> str:
        return record.classification if self.classified else "internal"

    def serialize(self, record, keys=None) -> dict:
        return {f.key: _plain(f.get(record)) for f in self.fields if keys is None or f.key in keys}


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _attr(name):
    return lambda r: getattr(r, name)


def _f(key, type_, label, get=None):
    return Field(key, type_, label, get or _attr(key))


ID = _f("id", "integer", _l("Record id"))
CLASSIFICATION = _f("classification", "code", _l("Classification: public, internal, restricted"))

RESOURCES: dict[str, Resource] = {
    r.kind: r
    for r in (
        Resource(
            "depots",
            _l("Depots"),
            _l("Depots of the agency: location, capacity, contact, status."),
            Depot,
            "agency_id",
            True,
            "depots",
            (
                ID,
                _f("agency_id", "integer", _l("Owner agency id")),
                _f("code", "code", _l("Depot code")),
                _f("name", "text", _l("Depot name")),
                _f("address", "text", _l("Address")),
                _f("region_code", "code", _l("GB/T 2260 region code")),
                _f("lat", "number", _l("Latitude (WGS 84)")),
                _f("lon", "number", _l("Longitude (WGS 84)")),
                _f("capacity_m3", "number", _l("Capacity in cubic metres")),
                _f("capacity_t", "number", _l("Capacity in tonnes")),
                _f("contact_name", "text", _l("Contact person")),
                _f("contact_phone", "text", _l("Contact phone")),
                _f("status", "code", _l("Status: active or closed")),
                CLASSIFICATION,
            ),
        ),
        Resource(
            "stock",
            _l("Stock lots"),
            _l("Stock lots: depot, material, lot, expiry, reserve type, quantities."),
            lot_model(),
            "owner_agency_id",
            True,
            "stock",
            (
                ID,
                _f("owner_agency_id", "integer", _l("Owner agency id")),
                _f("depot_id", "integer", _l("Depot id")),
                _f("depot_code", "code", _l("Depot code"), lambda r: r.depot.code),
                _f(
                    "material_code",
                    "code",
                    _l("GB/T 38565 material code"),
                    lambda r: r.material.code,
                ),
                _f("material_name", "text", _l("Material name"), lambda r: r.material.name),
                _f("unit", "text", _l("Unit of measure"), lambda r: r.material.unit),
                _f("lot_no", "text", _l("Lot number")),
                _f("production_date", "date", _l("Production date")),
                _f("expiry_date", "date", _l("Expiry date")),
                _f("reserve_type", "code", _l("Reserve type: physical, agreement, capacity")),
                _f("on_hand", "integer", _l("Quantity on hand")),
                _f("reserved", "integer", _l("Quantity reserved")),
                _f(
                    "enterprise_name",
                    "text",
                    _l("Enterprise holding an agreement or capacity reserve"),
                ),
                _f("enterprise_credit_code", "code", _l("Enterprise unified social credit code")),
                _f("units_per_day", "integer", _l("Production capacity per day")),
                _f("lead_time_h", "number", _l("Lead time in hours")),
                _f("contract_valid_to", "date", _l("Contract valid until")),
                CLASSIFICATION,
            ),
        ),
        Resource(
            "transport",
            _l("Transport capacity"),
            _l("Vehicles and vessels the agency declares for dispatch."),
            TransportCapacity,
            "agency_id",
            True,
            "transport",
            (
                ID,
                _f("agency_id", "integer", _l("Owner agency id")),
                _f("depot_id", "integer", _l("Depot id")),
                _f("mode", "code", _l("Mode: road, rail, air, water")),
                _f("vehicle_type", "text", _l("Vehicle type")),
                _f("count", "integer", _l("Number of vehicles")),
                _f("payload_t", "number", _l("Payload per vehicle in tonnes")),
                _f("volume_m3", "number", _l("Volume per vehicle in cubic metres")),
                _f("available", "boolean", _l("Available for dispatch")),
                _f("base", "text", _l("Base")),
                CLASSIFICATION,
            ),
        ),
        Resource(
            "plans",
            _l("Emergency plans"),
            _l("Emergency plans and their reserve norms."),
            EmergencyPlan,
            "agency_id",
            True,
            "norms",
            (
                ID,
                _f("agency_id", "integer", _l("Owner agency id")),
                _f("name", "text", _l("Plan name")),
                _f("incident_type", "code", _l("Incident type")),
                _f("level", "code", _l("Response level I-IV")),
                _f("region_code", "code", _l("GB/T 2260 region code")),
                _f(
                    "norms",
                    "list",
                    _l("Reserve norms: material code, region, basis, quantity"),
                    lambda r: [
                        {
                            "material_code": n.material.code,
                            "region_code": n.region_code,
                            "basis": n.basis,
                            "quantity": n.quantity,
                        }
                        for n in sorted(r.norms, key=lambda n: n.id)
                    ],
                ),
                CLASSIFICATION,
            ),
        ),
        Resource(
            "submissions",
            _l("Submissions"),
            _l("Reports the agency submitted: kind, mode, channel, status, counts."),
            Submission,
            "agency_id",
            False,
            None,
            (
                ID,
                _f("agency_id", "integer", _l("Owner agency id")),
                _f("kind", "code", _l("Report kind")),
                _f("mode", "code", _l("Report mode: full or incremental")),
                _f("channel", "code", _l("Channel: web, api, push, cli")),
                _f("status", "code", _l("Status")),
                _f("row_count", "integer", _l("Rows")),
                _f("error_count", "integer", _l("Errors")),
                _f("file_hash", "code", _l("SHA-256 of the submitted file")),
                _f("created_at", "datetime", _l("Submitted at (UTC)")),
                _f("applied_at", "datetime", _l("Applied at (UTC)")),
            ),
        ),
        Resource(
            "warnings",
            _l("Warnings"),
            _l(
                "Early warnings on the agency's stock, depots, norms and reports: kind, "
                "severity, status."
            ),
            ReserveWarning,
            "agency_id",
            True,
            None,
            (
                ID,
                _f("agency_id", "integer", _l("Owner agency id")),
                _f("kind", "code", _l("Warning kind (docs/warnings.md)")),
                _f("severity", "code", _l("Severity: red, orange, yellow, blue")),
                _f("status", "code", _l("Status: open, acknowledged, resolved")),
                _f("depot_id", "integer", _l("Depot id")),
                _f("lot_id", "integer", _l("Stock lot id")),
                _f("material_id", "integer", _l("Material id")),
                _f("region_code", "code", _l("GB/T 2260 region code")),
                _f("facts", "object", _l("The figures behind the warning")),
                _f("opened_at", "datetime", _l("Opened at (UTC)")),
                _f("resolved_at", "datetime", _l("Resolved at (UTC)")),
                _f("resolution", "text", _l("How it was resolved")),
                CLASSIFICATION,
            ),
        ),
        Resource(
            "credit",
            _l("Credit lists"),
            _l(
                "Dishonest-entity and red lists of enterprises by unified social credit code, "
                "with their authority, period and source (held by the province's agency)."
            ),
            CreditEntry,
            "owner_agency_id",
            False,
            None,
            (
                ID,
                _f("credit_code", "code", _l("Enterprise unified social credit code")),
                _f("name", "text", _l("Enterprise name")),
                _f("list", "code", _l("List: dishonest or red")),
                _f("reason", "text", _l("Reason for the listing")),
                _f("authority", "text", _l("Authority that listed it")),
                _f("start_date", "date", _l("Listed from")),
                _f("end_date", "date", _l("Listed until (blank: no end date)")),
                _f("source_document", "text", _l("Source document")),
                _f("status", "code", _l("Status: active, or ended by an administrator")),
                _f("origin", "code", _l("Recorded through: import, push, manual")),
                _f("updated_at", "datetime", _l("Last changed at (UTC)")),
            ),
        ),
    )
}
