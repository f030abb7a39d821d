"""/metrics: Prometheus text with request counts and latencies, readable from loopback or
with the configured bearer token only."""

import re

OTHER_HOST = {"REMOTE_ADDR": "10.1.2.3"}


def test_counts_and_times_requests_per_endpoint(client):
    for _ in range(3):
        client.get("/healthz")
    text = client.get("/metrics").text
    count = re.search(
        r'emreserve_http_requests_total\{endpoint="core.healthz",method="GET",status="200"\} (\d+)',
        text,
    )
    assert count and float(count.group(1)) >= 3
    assert (
        'emreserve_http_request_duration_seconds_bucket{endpoint="core.healthz",le="0.1",method="GET"}'
        in text
    )


def test_raw_paths_never_become_labels(client):
    client.get(
        "/no/such/page/canary-path-segment"
    )  # letters: a number could appear in a sample value
    text = client.get("/metrics").text
    assert "canary-path-segment" not in text and 'endpoint="unmatched"' in text


def test_answer_is_prometheus_text_and_not_cached(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"


def test_hidden_from_other_hosts_without_the_token(client, app, monkeypatch):
    assert client.get("/metrics", environ_base=OTHER_HOST).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "t" * 32)
    assert (
        client.get("/metrics").status_code == 404
    )  # with a token configured, loopback needs it too
    assert (
        client.get(
            "/metrics", environ_base=OTHER_HOST, headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 404
    )
    ok = client.get(
        "/metrics", environ_base=OTHER_HOST, headers={"Authorization": "Bearer " + "t" * 32}
    )
    assert ok.status_code == 200


def test_can_be_switched_off(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ENABLED", False)
    assert client.get("/metrics").status_code == 404
