"""Statistics kept in the worker for a few seconds, per access scope and data version.

A few dashboard figures read every row of a large table (all active warnings for the warning
summary, every agreement and capacity lot for "available within N hours") and are asked for
again and again. `kept()` keeps such an answer in the worker for SCOPED_CACHE_SECONDS
(0: off), under a key made of
- the question: its name and arguments;
- the reader's access scope (`core.scoping.scope_key`: role names and agency path, the only
  inputs of every read decision), so two readers share an answer only when every scoped query
  gives them the same rows, and restricted figures never reach another scope;
- the version of the data behind it (e.g. the newest movement and audit ids), read with
  indexed queries per request, so a change committed by any worker is seen by the next
  request everywhere.
The seconds bound only what a version does not follow: the clock, what a caller chose to
leave out of its version (the warning map's depot names and positions follow warnings only),
and a change whose transaction took its id before another's and committed after it.
"""

import threading
import time
from collections.abc import Callable, Hashable

from flask import current_app

from .scoping import scope_key

MAX_KEPT = 1000
_computing = threading.Lock()


def kept(name: str, user, arguments: Hashable, version: Hashable, compute: Callable[[], object]):
    """compute(), or the answer kept for the same question, scope and version. The threads of
    a worker asking the same question at once compute it once (the others wait for it)."""
    seconds = current_app.config.get("SCOPED_CACHE_SECONDS", 0)
    if not seconds:
        return compute()
    store = current_app.extensions.setdefault("kept_figures", {})
    key = (name, scope_key(user), arguments, version)
    entry = store.get(key)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    with _computing:
        lock = current_app.extensions.setdefault("kept_figures_locks", {}).setdefault(
            key, threading.Lock()
        )
    with lock:
        entry = store.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        value = compute()
        if len(store) >= MAX_KEPT:
            store.clear()
            current_app.extensions["kept_figures_locks"] = {}
        store[key] = (time.monotonic() + seconds, value)
    return value
