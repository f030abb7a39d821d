"""Readiness scenarios, their affected counties, and every assessment run kept for the trend."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import utcnow

HAZARDS = ("earthquake", "flood", "blizzard", "drought", "typhoon", "other")
HAZARD_LABELS = {
    "earthquake": _l("Earthquake"),
    "flood": _l("Flood"),
    "blizzard": _l("Blizzard"),
    "drought": _l("Drought"),
    "typhoon": _l("Typhoon"),
    "other": _l("Other hazard"),
}
POPULATION_RULES = ("entered", "intensity")
POPULATION_RULE_LABELS = {
    "entered": _l("Entered per county"),
    "intensity": _l("From the intensity-by-distance rule"),
}


class Scenario(db.Model):
    """A disaster the province plans for: the hazard, its level, the emergency plan whose norms
    size the demands, and (for the intensity rule) the epicentre and magnitude."""

    __table_args__ = (
        CheckConstraint(
            "magnitude IS NULL OR (magnitude >= 3 AND magnitude <= 9)", "magnitude_range"
        ),
        CheckConstraint("epicentre_lat IS NULL OR (epicentre_lat BETWEEN -90 AND 90)", "lat_range"),
        CheckConstraint(
            "epicentre_lon IS NULL OR (epicentre_lon BETWEEN -180 AND 180)", "lon_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    hazard: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(3))  # I..IV
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_plan.id"), index=True)
    population_rule: Mapped[str] = mapped_column(String(10), default="entered")
    epicentre_lat: Mapped[float | None] = mapped_column(Float)
    epicentre_lon: Mapped[float | None] = mapped_column(Float)
    magnitude: Mapped[float | None] = mapped_column(Float)
    is_standard: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(500))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan = relationship("EmergencyPlan", lazy="joined")
    counties = relationship(
        "ScenarioCounty",
        back_populates="scenario",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ScenarioCounty.region_code",
    )


class ScenarioCounty(db.Model):
    """A county the scenario strikes: the people affected and how hard (severity 1..3)."""

    __table_args__ = (
        UniqueConstraint("scenario_id", "region_code", name="uq_scenario_county"),
        CheckConstraint("population >= 0 AND population <= 100000000", "population_range"),
        CheckConstraint("severity >= 1 AND severity <= 3", "severity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    population: Mapped[int]
    severity: Mapped[int]

    scenario = relationship("Scenario", back_populates="counties")
    region = relationship("Region", lazy="joined")


class ReadinessRun(db.Model):
    """One assessment of one scenario: the scores and the coverage per window, county and material
    (`result`, see rules.summarise). Every run is kept: the trend. The recommendations over a set
    of scenarios are the outcome of the job that assessed them (its `result`)."""

    __table_args__ = (CheckConstraint("score >= 0 AND score <= 100", "score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("background_job.id"), index=True)
    score: Mapped[float]
    result: Mapped[dict] = mapped_column(JSON)
    nightly: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    scenario = relationship("Scenario", lazy="joined")
