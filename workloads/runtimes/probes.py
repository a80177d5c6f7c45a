"""HTTP probes polled by the engine itself, with the semantics of Kubernetes' httpGet probes.

Locally nothing else checks a container's health (podman's health checks need systemd), so
the engines poll the probe URL themselves: wait ``initialDelaySeconds``, then one GET every
``periodSeconds``, each given ``timeoutSeconds`` to answer; a status from 200 to 399 is a
success (redirects are not followed, as the kubelet does not follow them off the pod);
``failureThreshold`` failures in a row give up. Plain ``http.client``: one request, no
retries, no proxies from the environment.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from workloads.runtimes.base import ProbePlan, ShouldStop

# How often a wait looks at ``should_stop``: a stop request is honoured within this.
STOP_CHECK_SECONDS = 0.1


@dataclass(frozen=True)
class ProbeAttempt:
    ok: bool
    detail: str  # "HTTP 200", "HTTP 404", "connection refused", "no answer within 1 s"


@dataclass(frozen=True)
class ProbeOutcome:
    ready: bool
    attempts: int
    last: str = ""  # the detail of the last attempt, "" when none was made
    stopped: bool = False  # should_stop() ended the wait
    aborted: str = ""  # why the caller's ``abort`` check ended the wait early


def probe_once(url: str, timeout: float) -> ProbeAttempt:
    """One GET of ``url``; never raises for network errors, which are failed attempts."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "berth-probe"})
        response = connection.getresponse()
        # A bounded read: the body does not matter, a huge one must not hold the poller.
        response.read(65536)
    except TimeoutError:
        return ProbeAttempt(False, f"no answer within {timeout:g} s")
    except ConnectionRefusedError:
        return ProbeAttempt(False, "connection refused")
    except http.client.RemoteDisconnected:
        return ProbeAttempt(False, "connection closed without an answer")
    except ConnectionResetError:
        return ProbeAttempt(False, "connection reset")
    except (OSError, http.client.HTTPException) as error:
        return ProbeAttempt(False, f"{type(error).__name__}: {error}")
    finally:
        connection.close()
    return ProbeAttempt(200 <= response.status < 400, f"HTTP {response.status}")


def sleep_until(deadline: float, should_stop: ShouldStop) -> bool:
    """Sleep until ``deadline`` (monotonic); False as soon as ``should_stop()`` says so."""
    while True:
        if should_stop():
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, STOP_CHECK_SECONDS))


def poll(
    url: str,
    probe: ProbePlan,
    should_stop: ShouldStop,
    *,
    started: float | None = None,
    abort: Callable[[], str] | None = None,
) -> ProbeOutcome:
    """Poll ``url`` per ``probe`` until one success, ``failureThreshold`` failures in a
    row, or ``should_stop()``.

    ``started`` (``time.monotonic()``) is when the container started, so that the initial
    delay is not waited twice when several targets started together; by default, now.
    ``abort`` is asked after every failed attempt and ends the wait at once when it returns
    a reason (the container exited: more attempts cannot succeed).
    """
    begin = time.monotonic() if started is None else started
    if not sleep_until(begin + probe.initial_delay_seconds, should_stop):
        return ProbeOutcome(ready=False, attempts=0, stopped=True)
    attempts = 0
    last = ""
    while True:
        attempt_started = time.monotonic()
        attempt = probe_once(url, probe.timeout_seconds)
        attempts += 1
        last = attempt.detail
        if attempt.ok:
            return ProbeOutcome(ready=True, attempts=attempts, last=last)
        reason = abort() if abort is not None else ""
        if reason:
            return ProbeOutcome(ready=False, attempts=attempts, last=last, aborted=reason)
        # Every failure so far is consecutive: the first success returns.
        if attempts >= probe.failure_threshold:
            return ProbeOutcome(ready=False, attempts=attempts, last=last)
        if not sleep_until(attempt_started + probe.period_seconds, should_stop):
            return ProbeOutcome(ready=False, attempts=attempts, last=last, stopped=True)
