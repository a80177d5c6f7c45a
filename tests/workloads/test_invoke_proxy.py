"""The invoke proxy against a real container, through a real HTTP server.

The upstream (tests/proxy_fixtures.py) echoes the raw request it received and misbehaves on
demand; requests go to pytest-django's live server with http.client, which sends the
request target exactly as written, so the raw-target path of the proxy is the one tested.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings

from tests.build_fixtures import wait_for
from tests.conftest import ApiClient, artifact_body, primary_container
from tests.proxy_fixtures import BIG_BODY_SHA256, BIG_BYTES, UPSTREAM_PORT, upstream_image
from workloads.models import InvokeSample
from workloads.proxy.target import upstream_target

__all__ = ["upstream_image"]  # a fixture, used by name

pytestmark = pytest.mark.django_db(transaction=True)
WORKLOADS = "/api/v2/workloads"
CHUNK = 64 * 1024
# What issue 10 asks every proxied answer to carry: scripts, forms and popups, but an opaque
# origin (no allow-same-origin), so nothing on the page acts as the console.
SANDBOX_POLICY = "sandbox allow-scripts allow-forms allow-popups"


@pytest.fixture
def workload_id(
    api: ApiClient,
    upstream_image: str,
    podman_cleanup: set[str],
    celery_worker_thread: None,
    podman_settings: Any,
) -> str:
    """A running workload whose one replica is the misbehaving upstream."""
    web = primary_container(
        imageUri=upstream_image,
        port=UPSTREAM_PORT,
        readinessProbe={"path": "/ready", "periodSeconds": 1, "failureThreshold": 3},
    )
    body = artifact_body(spec={"containerGroups": [{"name": "default", "containers": [web]}]})
    artifact = api.create_artifact(**body)
    created = api.post(WORKLOADS, {"name": "upstream", "artifactId": artifact["id"]})
    assert created.status_code == 201, created.content
    identifier = str(created.json()["id"])
    podman_cleanup.add(identifier)

    def settled() -> str | None:
        status = api.get(f"{WORKLOADS}/{identifier}").json()["status"]
        return status if status in ("running", "errored", "stopped") else None

    assert wait_for(settled, timeout=60) == "running"
    return identifier


class Proxy:
    """Raw HTTP/1.1 to the live server's invoke endpoint of one workload."""

    def __init__(self, live_server: Any, api: ApiClient, workload_id: str) -> None:
        parts = urlsplit(live_server.url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.authorization = api.headers["Authorization"]
        self.prefix = f"/api/v2/endpoints/workloads/{workload_id}"

    def open(
        self,
        method: str,
        rest: str,
        headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
        body: Any = None,
        timeout: float = 60,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        # putrequest sends the target as given: no quoting, no normalisation.
        connection.putrequest(method, self.prefix + rest, skip_accept_encoding=True)
        connection.putheader("Authorization", self.authorization)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        if body is not None:
            for chunk in body:
                connection.send(chunk)
        return connection, connection.getresponse()

    def fetch(
        self, method: str, rest: str, **kwargs: Any
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection, response = self.open(method, rest, **kwargs)
        try:
            return response.status, response.msg, response.read()
        finally:
            connection.close()


@pytest.fixture
def proxy(live_server: Any, api: ApiClient, workload_id: str) -> Proxy:
    return Proxy(live_server, api, workload_id)


def recorded(workload_id: str, expected: int) -> list[int]:
    """The statuses the proxy recorded; waits for ``expected`` of them, since a streamed
    answer is recorded when the server closes it, just after the client has read it."""

    def samples() -> list[int] | None:
        codes = sorted(
            InvokeSample.objects.filter(workload_id=workload_id).values_list(
                "status_code", flat=True
            )
        )
        return codes if len(codes) >= expected else None

    return list(wait_for(samples, timeout=10, interval=0.1))


def echoed(body: bytes) -> tuple[str, dict[str, list[str]]]:
    """The request line and the headers the upstream received, from its echo."""
    lines = body.decode("latin-1").splitlines()
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.lower(), []).append(value.strip())
    return lines[0].removeprefix("line="), headers


ENCODED_TARGETS = [
    "/a%20b",
    "/%2e%2e/%2E%2E/secret",
    "/what%3Fnot-a-query",
    "/one%2Ftwo/three",
    "/caf%C3%A9/%e2%9c%93",
    "/%41%42c/%25/%7e",  # (NUL is refused before routing: console.middleware)
    "/trailing/",
    "/",
    "/q?x=%3F%26y%3D&a+b=c%20d&e=%E2%9C%93&&flag",
    "/semi;params=1/@:!$&'()*+,=~",
]


def test_encoded_paths_and_queries_arrive_byte_for_byte(proxy: Proxy, workload_id: str) -> None:
    for target in ENCODED_TARGETS:
        status, _, body = proxy.fetch("GET", target)
        assert status == 200, (target, body)
        line, _ = echoed(body)
        assert line == f"GET {target} HTTP/1.1"
    assert recorded(workload_id, len(ENCODED_TARGETS)) == [200] * len(ENCODED_TARGETS)


def test_without_a_raw_target_the_decoded_path_is_quoted_again(
    api: ApiClient, workload_id: str
) -> None:
    # Django's test client has no request line: the proxy falls back to PATH_INFO.
    response = api.get(
        f"/api/v2/endpoints/workloads/{workload_id}/a%20b/caf%C3%A9/%25", **{"x": "a b"}
    )
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert echoed(body)[0] == "GET /a%20b/caf%C3%A9/%25?x=a+b HTTP/1.1"


PREFIX = "/api/v2/endpoints/workloads/0123456789abcdef01234567/"


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # Mounted below a SCRIPT_NAME, in absolute form, as gunicorn reports it.
        (
            {
                "SCRIPT_NAME": "/berth",
                "PATH_INFO": PREFIX + "x/y",
                "RAW_URI": "http://console.example/berth" + PREFIX + "x%2Fy?a=%20",
                "QUERY_STRING": "a=%20",
            },
            "/x%2Fy?a=%20",
        ),
        # uWSGI's name for it; an empty query is kept as sent.
        ({"PATH_INFO": PREFIX + "a b", "REQUEST_URI": PREFIX + "a%20b?"}, "/a%20b?"),
        # A REQUEST_URI from before an internal rewrite is not this request: quote again.
        (
            {"PATH_INFO": PREFIX + "café", "REQUEST_URI": "/old/path%2F", "QUERY_STRING": "q=1"},
            "/caf%C3%A9?q=1",
        ),
        # Raw bytes a client had no right to send unencoded are encoded, never refused.
        ({"PATH_INFO": PREFIX + "ü", "RAW_URI": PREFIX + "\xc3\xbc"}, "/%C3%BC"),
    ],
)
def test_the_raw_target_is_used_only_when_it_is_the_routed_request(
    meta: dict[str, str], expected: str
) -> None:
    assert upstream_target(meta, PREFIX) == expected


def big_body() -> Iterator[bytes]:
    block = b"0123456789abcdef" * (CHUNK // 16)
    for _ in range(BIG_BYTES // CHUNK):
        yield block


def test_a_20_mib_upload_and_download_stream_through(proxy: Proxy, workload_id: str) -> None:
    expected = hashlib.sha256()
    for block in big_body():
        expected.update(block)
    tracemalloc.start()
    try:
        status, _, body = proxy.fetch(
            "POST",
            "/upload",
            headers=[("Content-Length", str(BIG_BYTES)), ("Content-Type", "application/x-big")],
            body=big_body(),
        )
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert status == 200, body
        assert body.decode().strip() == f"sha256={expected.hexdigest()}"

        connection, response = proxy.open("GET", "/download")
        digest = hashlib.sha256()
        received = 0
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            received += len(chunk)
        connection.close()
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status == 200
    assert response.getheader("Content-Length") == str(BIG_BYTES)
    assert (received, digest.hexdigest()) == (BIG_BYTES, BIG_BODY_SHA256)
    # The client, the live server and the proxy share this process: had any of them held
    # the whole body, the peak would be above 20 MiB.
    assert upload_peak < BIG_BYTES / 4
    assert download_peak < BIG_BYTES / 4
    assert recorded(workload_id, 2) == [200, 200]


def test_bodies_the_proxy_cannot_relay_are_refused_not_dropped(
    proxy: Proxy, workload_id: str
) -> None:
    with override_settings(BERTH_MAX_REQUEST_BYTES=2**20):
        status, _, _ = proxy.fetch(
            "POST", "/upload", headers=[("Content-Length", str(2**20 + 1))], body=[b"x" * 10]
        )
    assert status == 413
    # Django's development server passes chunked bodies through undecoded: rather than
    # forward an empty body, the proxy asks for a length.
    status, _, _ = proxy.fetch(
        "POST",
        "/upload",
        headers=[("Transfer-Encoding", "chunked")],
        body=[b"5\r\nhello\r\n0\r\n\r\n"],
    )
    assert status == 411
    # The 413 came from the request-size middleware, before the proxy saw the request.
    assert recorded(workload_id, 1) == [411]


def test_a_session_callers_form_body_reaches_the_workload_intact(
    owner: Any, workload_id: str
) -> None:
    # The CSRF check must not parse (and so consume) the body it is about to relay.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    browser.get("/")
    token = browser.cookies["csrftoken"].value
    form = "csrfmiddlewaretoken=not-berths&field=" + "v" * 5000
    response: Any = browser.post(
        f"/api/v2/endpoints/workloads/{workload_id}/upload",
        data=form,
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    digest = hashlib.sha256(form.encode()).hexdigest()
    assert b"".join(response.streaming_content).decode().strip() == f"sha256={digest}"
    refused = Client(enforce_csrf_checks=True)
    refused.force_login(owner)
    no_token = refused.post(
        f"/api/v2/endpoints/workloads/{workload_id}/upload",
        data=form,
        content_type="application/x-www-form-urlencoded",
    )
    assert no_token.status_code == 403


def test_response_headers_repeat_and_nothing_can_script_the_console(
    proxy: Proxy, workload_id: str
) -> None:
    status, headers, _ = proxy.fetch("GET", "/echo")
    assert status == 200
    combined = [value for line in headers.get_all("X-Thing", []) for value in line.split(", ")]
    assert combined == ["one", "two"]
    links = [value for line in headers.get_all("Link", []) for value in line.split(", ")]
    assert links == ["</a>; rel=preload", "</b>; rel=preload"]
    for dropped in (
        "Keep-Alive",
        "X-Hop-Secret",
        "Strict-Transport-Security",
        "Clear-Site-Data",
        "Refresh",
    ):
        assert headers.get(dropped) is None, dropped
    assert headers.get_all("Content-Security-Policy") == [SANDBOX_POLICY]
    assert headers.get_all("X-Content-Type-Options") == ["nosniff"]

    status, headers, _ = proxy.fetch("GET", "/page")
    assert status == 200
    assert headers.get_all("Set-Cookie") is None
    assert headers.get_all("Content-Security-Policy") == [SANDBOX_POLICY]
    assert "allow-same-origin" not in SANDBOX_POLICY
    assert not [name for name in headers if name.lower().startswith("access-control-")]


def test_forwarding_headers_are_ours_and_hop_by_hop_ones_stay_behind(
    proxy: Proxy, workload_id: str
) -> None:
    status, _, body = proxy.fetch(
        "GET",
        "/echo",
        headers=[
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Prefix", "/elsewhere"),
            ("Forwarded", "for=203.0.113.9;proto=https"),
            ("X-Real-IP", "203.0.113.9"),
            ("Connection", "keep-alive, X-Client-Hop"),
            ("X-Client-Hop", "client-only"),
            ("Keep-Alive", "timeout=300"),
            ("Cookie", "sessionid=abc"),
            ("X-Repeat", "first"),
            ("X-Repeat", "second"),
            ("User-Agent", "berth-tests"),
        ],
    )
    assert status == 200
    _, received = echoed(body)
    assert received["x-forwarded-for"] == ["127.0.0.1"]
    assert received["x-forwarded-host"] == [f"{proxy.host}:{proxy.port}"]
    assert received["x-forwarded-proto"] == ["http"]
    assert received["x-forwarded-prefix"] == [proxy.prefix]
    assert received["forwarded"] == [f'for=127.0.0.1;host="{proxy.host}:{proxy.port}";proto=http']
    for absent in ("x-real-ip", "x-client-hop", "keep-alive", "cookie", "authorization"):
        assert absent not in received, absent
    assert received.get("connection") in (None, ["close"])
    # The WSGI server joins repeated request fields with commas (RFC 9110 §5.3).
    assert [v.strip() for v in ",".join(received["x-repeat"]).split(",")] == ["first", "second"]
    assert received["user-agent"] == ["berth-tests"]
    assert received["host"] != [f"{proxy.host}:{proxy.port}"]


def test_a_trickling_upstream_is_cut_at_the_deadline(proxy: Proxy, workload_id: str) -> None:
    deadline = 2.0
    with override_settings(BERTH_INVOKE_DEADLINE_SECONDS=deadline):
        started = time.monotonic()
        status, _, body = proxy.fetch("GET", "/trickle-headers")
        headers_took = time.monotonic() - started
        assert status == 504, body

        started = time.monotonic()
        connection, response = proxy.open("GET", "/trickle-body")
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead):
            response.read()
        body_took = time.monotonic() - started
        connection.close()
    # The upstream would trickle for two minutes; generous bounds around the deadline.
    assert headers_took < deadline + 8
    assert body_took < deadline + 8
    assert recorded(workload_id, 2) == [504, 504]


def test_malformed_upstream_answers_are_502(proxy: Proxy, workload_id: str) -> None:
    broken = ("/malformed-status", "/conflicting-length", "/bad-header-line", "/bad-header-name")
    for target in broken:
        status, _, body = proxy.fetch("GET", target)
        assert status == 502, (target, body)
        assert b"upstream" in body.lower()
    # Cut short after the status was sent: the client must see a truncated body, not a
    # complete one.
    connection, response = proxy.open("GET", "/cut-short")
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    assert recorded(workload_id, len(broken) + 1) == [502] * (len(broken) + 1)


def test_concurrent_requests_beyond_the_cap_get_429(proxy: Proxy, workload_id: str) -> None:
    statuses: list[int] = []

    def slow() -> None:
        statuses.append(proxy.fetch("GET", "/slow")[0])

    with override_settings(BERTH_INVOKE_MAX_CONCURRENT=2):
        senders = [threading.Thread(target=slow) for _ in range(2)]
        for sender in senders:
            sender.start()
        # The upstream holds each for 3 s; give both time to be in flight.
        time.sleep(1)
        status, headers, body = proxy.fetch("GET", "/echo")
        for sender in senders:
            sender.join(timeout=30)
        assert status == 429, body
        assert headers["Retry-After"] == "1"
        assert statuses == [200, 200]
        # Both slots were given back.
        assert proxy.fetch("GET", "/echo")[0] == 200
    assert recorded(workload_id, 4) == [200, 200, 200, 429]
