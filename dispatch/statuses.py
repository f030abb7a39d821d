"""The statuses of the wartime response, as enums (the models store their values; the pure rules'
transition tables and the services compare them). No Flask, no database."""

import enum


class IncidentStatus(enum.StrEnum):
    REPORTED = "reported"
    RESPONDING = "responding"  # set by the first demand or plan
    RECOVERY = "recovery"
    CLOSED = "closed"


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # its lines' stock reserved
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # a newer draft replaced it


class ShipmentStatus(enum.StrEnum):
    READY = "ready"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    RECEIVED = "received"


class DemandStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # replaced by a new version or withdrawn
