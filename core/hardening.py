"""Security headers on every response, and no caching of anything that is not public.

The Content-Security-Policy allows scripts and styles from our own origin only: pages carry no
inline `<script>`, no `on*=` handlers and no `style` attributes (they pass data to static
scripts through `data-*` attributes; progress bars are `<progress>` elements; ECharts draws its
tooltips on its canvas, `renderMode: "richText"`). Scripts may still set styles through the
CSSOM (`element.style.x = ...`: Leaflet, ECharts), which CSP does not govern.

HSTS is sent only when HSTS_SECONDS is set (production), so a plain-HTTP development server
never pins a browser to HTTPS.

A response that has not chosen its own Cache-Control gets `no-store`: staff pages and API
answers carry agencies' data. The public portal keeps its ETag caching (public_site/http.py
sets Cache-Control itself), and static files keep Flask's conditional caching.

TRUSTED_PROXIES tells how many reverse proxies stand in front (their X-Forwarded-* headers).
"""

from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix


def is_same_site_path(target: str | None) -> bool:
    """A relative path of this site (never `//host`, `\\host` or `https://host`): the only
    kind of "back" or "next" address a redirect may follow, so none is an open redirect."""
    return (
        bool(target)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not urlsplit(target).netloc
    )


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def tile_source(url: str | None) -> str | None:
    """The CSP source of a tile URL template: scheme and host, a `{s}` subdomain label as `*`."""
    if not url:
        return None
    parts = urlsplit(url.replace("{s}", "SUBDOMAIN"))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    labels = parts.hostname.split(".")
    host = ".".join(["*"] + labels[1:]) if "subdomain" in labels[0] else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def content_security_policy(config) -> str:
    """The configured policy; with a base map (MAP_TILE_URL), img-src also admits its host."""
    policy = config["CONTENT_SECURITY_POLICY"]
    source = tile_source(config.get("MAP_TILE_URL"))
    return policy.replace("img-src 'self'", f"img-src 'self' {source}", 1) if source else policy


def add_security_headers(response):
    config = current_app.config
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(config))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
    headers.setdefault("Referrer-Policy", config["REFERRER_POLICY"])
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )
    if config.get("HSTS_SECONDS"):
        headers.setdefault(
            "Strict-Transport-Security", f"max-age={int(config['HSTS_SECONDS'])}; includeSubDomains"
        )
    if "Cache-Control" not in headers and not _is_static(request.endpoint):
        headers["Cache-Control"] = "no-store"
    return response


def init_hardening(app):
    app.after_request(add_security_headers)
    # Behind N reverse proxies, trust the last N X-Forwarded-For/-Proto/-Host hops, so client
    # addresses (rate limits, audit log, login sessions) and https are the real ones. Never set
    # it higher than the number of proxies in front: a client could forge its address.
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
