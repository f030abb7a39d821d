"""What a feature package hands the app, and how core asks for it.

Core is the ground floor: it imports no feature package. The app factory's list
(`wiring.FEATURES`) names each package's `feature` module; each of those modules builds one
`Feature` saying what it adds to the shell: its blueprints, CLI commands, demo data, home-page
figures, to-dos, audit-log labels, job kinds, scheduled jobs, exports and the few questions core asks about its own records (which
accounts are service accounts, which scopes a token holds). Core reads them back through the
functions below, so adding a feature is one line in the list, and no module of core changes.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

KEY = "emreserve.features"


@dataclass(frozen=True)
class DemoStep:
    """One part of `flask demo init`: run in `order` (core's demo accounts are 20) when `is_empty()`;
    `build()` returns the line to print, `skipped` is printed when there was something already."""

    order: int
    is_empty: Callable[[], bool]
    build: Callable[[], str]
    skipped: str = ""


@dataclass(frozen=True)
class TodoKind:
    """One kind of to-do (core/todos.py): `compute(user)` gives its group, or None when the kind
    does not concern the user. `order` places it in the list."""

    kind: str
    label: Any  # a lazy string
    order: int
    compute: Callable[[Any], Any]


def _nothing(*_args, **_kwargs):
    return None


@dataclass(frozen=True)
class Feature:
    name: str
    # app set-up, before the idempotency check (e.g. the external clients' scope check)
    init: Callable[[Flask], None] = _nothing
    # register the feature's page blueprints on `app` and API blueprints on `api`
    blueprints: Callable[[Flask, Any], None] = _nothing
    # add commands to core's CLI groups (by name: "demo", "setup", ...) and return the feature's own groups
    cli: Callable[[Mapping], Iterable] = lambda groups: ()
    demo: tuple[DemoStep, ...] = ()
    # figures of the staff home page (core/dashboard.py), by name
    home: Callable[[Any], Mapping] = lambda user: {}
    todos: tuple[TodoKind, ...] = ()
    # a value that changes when the feature's to-dos may have changed outside the audit log
    todo_version: Callable[[], Any] = _nothing
    # counters shown in the menu, by name (e.g. unread notifications)
    counters: Mapping[str, Callable[[Any], int]] = field(default_factory=dict)
    # audit log: (record kind or None, field) -> {stored code: label}
    value_labels: Callable[[], Mapping] = lambda: {}
    # a select of user ids that are service accounts (hidden from account management)
    service_accounts: Callable[[], Any] | None = None
    # the scopes a user's token is limited to, or None when the feature does not limit it
    token_scopes: Callable[[Any], set | None] = _nothing
    # kinds of background job its long work runs as (core.background.Kind)
    job_kinds: tuple = ()
    # its scheduled jobs (core.scheduler.Job), from the app's configuration; a daily (cron) job
    # without a timezone runs at its hour of DISPLAY_TIMEZONE
    scheduled: Callable[[Mapping], Iterable] = lambda config: ()
    # its exports that may run in the background (core.export_jobs.Export)
    exports: tuple = ()
    # what it sends across the two networks' exchange (core.exchange.service.ExchangeKind)
    exchange: tuple = ()
    # URL rules (regular expressions, matched from the start) the extranet's deployment serves,
    # and those only it serves (core/roles.py); a feature with no `outside` runs only inside
    outside: tuple[str, ...] = ()
    outside_only: tuple[str, ...] = ()
    # where the extranet's "/" leads (the feature's front page)
    outside_home: str | None = None


def install(app: Flask, features: Iterable[Feature]) -> None:
    app.extensions[KEY] = tuple(features)


def registered(app: Flask | None = None) -> tuple[Feature, ...]:
    return (app or current_app).extensions.get(KEY, ())


def counter(name: str, user) -> int:
    return sum(f.counters[name](user) for f in registered() if name in f.counters)


def value_labels() -> dict:
    labels: dict = {}
    for feature in registered():
        labels.update(feature.value_labels())
    return labels


def home_figures(user) -> dict:
    figures: dict = {}
    for feature in registered():
        figures.update(feature.home(user))
    return figures


def todo_kinds() -> list[TodoKind]:
    return sorted((kind for f in registered() for kind in f.todos), key=lambda kind: kind.order)


def todo_version() -> tuple:
    return tuple(f.todo_version() for f in registered())


def service_account_ids() -> list:
    """Selects of the user ids of service accounts, one per feature that has them."""
    return [f.service_accounts() for f in registered() if f.service_accounts is not None]


def declared(attribute: str, app: Flask | None = None) -> list:
    """Every feature's `job_kinds`, `exports` or `exchange` kinds, in the list's order."""
    return [item for f in registered(app) for item in getattr(f, attribute)]


def token_scopes(user) -> set | None:
    """The scopes `user`'s access is limited to (None: not limited by any feature)."""
    for feature in registered():
        scopes = feature.token_scopes(user)
        if scopes is not None:
            return scopes
    return None
