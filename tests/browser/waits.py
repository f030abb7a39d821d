"""Waiting in browser tests for what a page needs, never for a fixed time.

Playwright's "networkidle" state gave no clue when it did not come (two CSP tests timed out
after 30 s on a loaded machine, with nothing to say which request kept it away). `track`
keeps the requests of a page itself, so `settle` can wait for the same condition (nothing in
flight for `quiet_ms`) and, when it does not come, fail with every request still pending, its
resource type and how long it has waited. Tests first wait for the element they need (a chart's
canvas, a map's boundaries), then settle so that late fetches have landed before they look.
"""

import time

SETTLE_TIMEOUT_MS = 20_000


def track(page) -> None:
    """Record the requests of `page` from now on (idempotent)."""
    if getattr(page, "in_flight", None) is not None:
        return
    page.in_flight = {}
    page.last_network_event = time.monotonic()

    def started(request):
        page.in_flight[id(request)] = (request, time.monotonic())
        page.last_network_event = time.monotonic()

    def ended(request):
        page.in_flight.pop(id(request), None)
        page.last_network_event = time.monotonic()

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)


def pending(page) -> list[str]:
    now = time.monotonic()
    return [
        f"{request.method} {request.url} ({request.resource_type}, {now - since:.1f} s)"
        for request, since in page.in_flight.values()
    ]


def settle(page, quiet_ms: int = 500, timeout_ms: int = SETTLE_TIMEOUT_MS) -> None:
    """Wait until no request of `page` has been in flight for `quiet_ms`; on timeout fail and
    name every request still pending."""
    track(page)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        quiet = not page.in_flight and time.monotonic() - page.last_network_event >= quiet_ms / 1000
        if quiet:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{page.url}: requests still pending after {timeout_ms} ms: {pending(page) or 'none'}"
                f" (last network event {time.monotonic() - page.last_network_event:.1f} s ago)"
            )
        page.wait_for_timeout(50)  # lets Playwright deliver the page's events


def ready(page, selectors: list[str], timeout_ms: int = 15_000) -> None:
    """Wait for each element the test needs, then for the network to settle."""
    for selector in selectors:
        page.wait_for_selector(selector, timeout=timeout_ms)
    settle(page)
