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


class RoutePlanStatus(enum.StrEnum):
    DRAFT = "draft"  # the newest proposal of its dispatch plan
    ADOPTED = "adopted"  # its routes became trips
    SUPERSEDED = "superseded"  # a newer version (or another adopted one) replaced it


class TripStatus(enum.StrEnum):
    READY = "ready"
    DEPARTED = "departed"  # its drops' lots were issued
    COMPLETED = "completed"  # every stop received
    CANCELLED = "cancelled"  # its route plan was replaced before it left


class StopStatus(enum.StrEnum):
    PENDING = "pending"
    RECEIVED = "received"


class CallStatus(enum.StrEnum):
    """A call for supply (供需发布)."""

    DRAFT = "draft"  # its text waits for approval; nothing public
    PUBLISHED = "published"  # on the portal's board as an incident demand
    MET = "met"  # accepted offers cover it: withdrawn from the board automatically
    WITHDRAWN = "withdrawn"  # withdrawn by hand (with a reason)
