"""Berth's benchmark harness: ``scripts/bench.sh [N ...]`` (or ``make bench ARGS="1000"``).

For each size N it seeds a fresh PostgreSQL database (``tests.perf.seed``) and serves Berth
on it with gunicorn (several sync workers, DEBUG off); then it measures, from this separate
process, latency quantiles and throughput of what a user does most, plus a trivial JSON
view on the same server as the ceiling, alternating between the sizes in short rounds so
they stay comparable on a shared machine. Everything runs on 127.0.0.1 in a throwaway
PostgreSQL cluster that is removed at the end (``--keep`` leaves it running for EXPLAIN).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.perf.seed import SEED_MARKER

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
DEFAULT_SIZES = (1000, 10000)
# The scenarios whose latency must not grow much with the size of the database.
LIST_SCENARIOS = ("artifact list", "repositories page")
ACCEPTABLE_GROWTH = 2.0


def run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run one of our own commands (fixed programs, arguments built here), capturing text."""
    return subprocess.run(  # noqa: S603
        list(command), capture_output=True, text=True, check=False, **kwargs
    )


# --- the machine ------------------------------------------------------------------------


def machine_description(pg_version: str) -> list[tuple[str, str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    # os.cpu_count() is the host's; the scheduler may give this process fewer.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        out = run([wrk, "--version"])
        wrk_version = (out.stdout or out.stderr).split("[")[0].strip()
    return [
        ("CPU", f"{models[0] if models else platform.processor() or '?'}"),
        ("CPUs", f"{usable} usable ({len(models) or os.cpu_count()} listed in /proc/cpuinfo)"),
        ("RAM", f"{int(mem_kb.group(1)) / 2**20:.1f} GiB" if mem_kb else "?"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Django", metadata.version("django")),
        ("django-ninja", metadata.version("django-ninja")),
        ("gunicorn", metadata.version("gunicorn")),
        ("PostgreSQL", pg_version),
        ("load driver", wrk_version or "python (wrk not installed)"),
    ]


# --- PostgreSQL -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    """A throwaway cluster on a free port (the recipe of ENVIRONMENT.md / scripts/test.sh)."""

    def __init__(self) -> None:
        bins = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)],
        )
        if not bins or not (bins[-1] / "initdb").exists():
            raise SystemExit("bench: PostgreSQL binaries not found (run `make setup` as root)")
        self.bin = bins[-1]
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="berth-bench-pg."))
        self.started = False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return run(command, cwd="/")

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        done = self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"
        )
        if done.returncode:
            raise SystemExit(f"bench: initdb failed:\n{done.stderr}")
        self.started = True
        # fsync off as in the test recipe: the figures are about Berth, not this disk.
        options = f"-c listen_addresses={HOST} -p {self.port} -k {self.data} -c fsync=off"
        done = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"),
            "-w", "-o", options, "start",
        )  # fmt: skip
        if done.returncode:
            log = (self.data / "log").read_text() if (self.data / "log").exists() else ""
            raise SystemExit(f"bench: PostgreSQL did not start:\n{done.stderr}{log}")

    def version(self) -> str:
        out = run([str(self.bin / "postgres"), "-V"])
        # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        match = re.search(r"\(PostgreSQL\) (\S+)", out.stdout)
        return match.group(1) if match else out.stdout.strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.started = False
        shutil.rmtree(self.data, ignore_errors=True)


# --- the server -------------------------------------------------------------------------


def berth_env(database_url: str, var_dir: Path) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "BERTH_VAR_DIR": str(var_dir),
        "BERTH_DEBUG": "false",
        "BERTH_ALLOWED_HOSTS": HOST,
        "BERTH_BENCH_CEILING": "true",
        "BERTH_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "PYTHONPATH": str(ROOT),
    }


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int, log: Path) -> Iterator[int]:
    """Serve Berth on a free port with ``workers`` sync workers; yields the port."""
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"), "console.wsgi:application",
        "--chdir", str(ROOT), "--bind", f"{HOST}:{port}",
        "--workers", str(workers), "--worker-class", "sync",
        "--backlog", "2048", "--log-level", "warning", "--timeout", "60",
        # Django is imported once, before forking: no worker spends the measured time
        # importing (database connections are still opened by each worker, lazily).
        "--preload",
    ]  # fmt: skip
    with log.open("ab") as out:
        # Its own session, so the whole server can be stopped by its process group.
        server = subprocess.Popen(  # noqa: S603 (our own command line)
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"bench: gunicorn exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if http_request(port, "GET", "/bench/ceiling")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: gunicorn not ready in 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        try:
            yield port
        except SystemExit as failed:  # a failed check: the server's log says why
            tail = log.read_text(errors="replace")[-4000:]
            raise SystemExit(f"{failed.code}\n--- gunicorn log (end):\n{tail}") from None
    finally:
        server.terminate()  # the master stops its workers gracefully
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def http_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


# --- load -------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    driver: str
    ops: int
    errors: int
    seconds: float
    p50: float  # milliseconds
    p90: float
    p99: float
    note: str = ""

    @property
    def throughput(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    # A whole operation on one connection (create+lock); None means one request of the above.
    operation: Callable[[http.client.HTTPConnection, int], bool] | None = None


def quantile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python(
    port: int, scenario: Scenario, connections: int, seconds: float, max_ops: int
) -> Result:
    """Threads, one keep-alive ``http.client`` connection each, bounded by time and count.

    gunicorn's sync workers close each connection after answering; ``http.client`` then
    reconnects on the next request, so that cost is measured as a real client pays it.
    """
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    issued = iter(range(max_ops))  # next() on one iterator is atomic under the GIL
    deadline = time.monotonic() + seconds

    def one_request(conn: http.client.HTTPConnection, _slot: int) -> bool:
        status, _ = http_request(port, scenario.method, scenario.path, scenario.headers, conn=conn)
        return status == 200

    operation = scenario.operation or one_request

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < deadline and next(issued, None) is not None:
            started = time.perf_counter()
            try:
                ok = operation(conn, slot)
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            latencies[slot].append(time.perf_counter() - started)
            errors[slot] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    values = sorted(v * 1000 for slot in latencies for v in slot)
    return Result(
        scenario.name,
        "python",
        len(values),
        sum(errors),
        elapsed,
        quantile(values, 0.50),
        quantile(values, 0.90),
        quantile(values, 0.99),
    )


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _WRK_UNITS[match.group(2)]


def run_wrk(port: int, scenario: Scenario, connections: int, seconds: float) -> Result:
    """One wrk thread (the server needs the cores more), ``connections`` connections."""
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "--latency",
    ]  # fmt: skip
    for name, value in scenario.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://{HOST}:{port}{scenario.path}")
    proc = run(command)
    if proc.returncode:
        raise SystemExit(f"bench: wrk failed: {proc.stderr}")
    out = proc.stdout
    quantiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    done = re.search(r"^\s+(\d+) requests in ([\d.]+)(ms|s|m)", out, re.MULTILINE)
    if not done or len(quantiles) < 3:
        raise SystemExit(f"bench: cannot read wrk's output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.+)$", out, re.MULTILINE)
    return Result(
        scenario.name,
        "wrk",
        int(done.group(1)),
        int(errors.group(1)) if errors else 0,
        _wrk_ms(done.group(2) + done.group(3)) / 1000,
        _wrk_ms(quantiles["50"]),
        _wrk_ms(quantiles["90"]),
        _wrk_ms(quantiles["99"]),
        note=f"socket errors: {socket_errors.group(1)}" if socket_errors else "",
    )


# --- one size ---------------------------------------------------------------------------


@dataclass
class Options:
    sizes: list[int]
    seconds: float
    warmup: float
    connections: int
    rounds: int
    workers: int
    max_ops: int
    driver: str
    keep: bool
    explain: bool


def scenarios(seeded: dict[str, Any], port: int) -> list[Scenario]:
    bearer = {"Authorization": f"Bearer {seeded['api_key']}"}
    json_bearer = bearer | {"Content-Type": "application/json"}
    owned: list[str] = seeded["owned_repository_ids"]
    from tests.perf.seed import SPEC

    def create_and_lock(conn: http.client.HTTPConnection, slot: int) -> bool:
        # Each connection its own repository: one repository's locks queue on its row.
        body = {
            "name": "bench-release",
            "spec": SPEC,
            "artifactRepositoryId": owned[slot % len(owned)],
        }
        status, answer = http_request(
            port, "POST", "/api/v2/artifacts", json_bearer, json.dumps(body).encode(), conn
        )
        if status != 201:
            return False
        artifact_id = json.loads(answer)["id"]
        status, _ = http_request(
            port, "PATCH", f"/api/v2/artifacts/{artifact_id}", json_bearer,
            b'{"status": "locked"}', conn,
        )  # fmt: skip
        return status == 200

    return [
        Scenario("ceiling", "GET", "/bench/ceiling"),
        Scenario("artifact list", "GET", "/api/v2/artifacts?limit=20", bearer),
        Scenario("artifact get", "GET", f"/api/v2/artifacts/{seeded['artifact_id']}", bearer),
        Scenario(
            "repositories page",
            "GET",
            "/repositories/",
            {"Cookie": f"sessionid={seeded['session_id']}"},
        ),
        # Last: it adds rows, which the reads above should not see.
        Scenario("create+lock", "POST", "/api/v2/artifacts", json_bearer, create_and_lock),
    ]


def check(port: int, scenario: Scenario, seeded: dict[str, Any]) -> str:
    """One request before the load: the answer must be the real page, not an error."""
    if scenario.operation is not None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            if not scenario.operation(conn, 0):
                raise SystemExit(f"bench: {scenario.name} failed before the load")
        finally:
            conn.close()
        return ""
    status, body = http_request(port, scenario.method, scenario.path, scenario.headers)
    if status != 200:
        raise SystemExit(f"bench: {scenario.name} answered {status}: {body[:300]!r}")
    if scenario.name == "artifact list":
        page = json.loads(body)
        if page["totalCount"] != seeded["visible_artifacts"] or page["count"] > 20:
            raise SystemExit(f"bench: the reader's list is wrong: {body[:300]!r}")
        return f"{page['count']} of {page['totalCount']} rows"
    return ""


@dataclass
class SizeRun:
    n: int
    env: dict[str, str]
    seeded: dict[str, Any]
    sql_ms: dict[str, float]  # each list query alone, median
    load_before: float = 0.0  # 1-minute load average: other work on the machine skews figures
    load_after: float = 0.0
    results: list[Result] = field(default_factory=list)

    def result(self, scenario: str) -> Result:
        return next(r for r in self.results if r.scenario == scenario)


def seed_command(env: dict[str, str], *args: str) -> str:
    done = run([sys.executable, "-m", "tests.perf.seed", *args], env=env, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith(SEED_MARKER)]
    if done.returncode or (not lines and "--explain" not in args):
        raise SystemExit(
            f"bench: tests.perf.seed {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        )
    return lines[-1].removeprefix(SEED_MARKER) if lines else done.stdout


def prepare_size(cluster: PostgresCluster, n: int, options: Options, work: Path) -> SizeRun:
    """A fresh database of size ``n``: seeded, its list queries timed (and explained)."""
    print(f"\n== N = {n}: seeding ...", flush=True)
    var_dir = work / f"var-{n}"
    var_dir.mkdir()
    env = berth_env(cluster.create_database(f"bench_{n}"), var_dir)
    seeded = json.loads(seed_command(env, "--count", str(n)))
    print(
        f"   {seeded['repositories']} repositories, {seeded['artifacts']} artifacts, "
        f"{seeded['user_grants']} user + {seeded['group_grants']} team grant rows "
        f"in {seeded['seconds']} s; the reader sees {seeded['visible_repositories']} "
        f"repositories ({seeded['visible_artifacts']} artifacts)",
        flush=True,
    )
    # Before the load: create+lock adds rows the reader sees.
    sql_ms = json.loads(seed_command(env, "--sql-timings"))
    if options.explain:
        print(f"\n-- query plans at N = {n}\n{seed_command(env, '--explain')}", flush=True)
    return SizeRun(n, env, seeded, sql_ms)


def combine(rounds: list[Result]) -> Result:
    """One figure from several rounds: counts add up; each quantile is the median of the
    rounds' (wrk reports quantiles, not samples), which also discounts a round that a
    burst of other work on the machine spoiled."""
    first = rounds[0]

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    return Result(
        first.scenario,
        first.driver,
        sum(r.ops for r in rounds),
        sum(r.errors for r in rounds),
        sum(r.seconds for r in rounds),
        median([r.p50 for r in rounds]),
        median([r.p90 for r in rounds]),
        median([r.p99 for r in rounds]),
        "; ".join(sorted({r.note for r in rounds if r.note})),
    )


def measure_all(sizes: list[SizeRun], options: Options, work: Path) -> None:
    """Every scenario on every size, in interleaved rounds.

    One server per size, all up at once; each scenario's time is split into rounds that
    alternate between the sizes (A B, B A, ...), so that other work on the machine, which
    comes and goes, weighs on every size alike and the sizes stay comparable.
    """
    use_wrk = options.driver == "wrk" or (
        options.driver == "auto" and shutil.which("wrk") is not None
    )
    round_seconds = options.seconds / options.rounds
    with contextlib.ExitStack() as stack:
        ports = {
            size.n: stack.enter_context(
                gunicorn(size.env, options.workers, work / f"gunicorn-{size.n}.log")
            )
            for size in sizes
        }
        for size in sizes:
            size.load_before = os.getloadavg()[0]
        plans = {size.n: scenarios(size.seeded, ports[size.n]) for size in sizes}
        for index, name in enumerate(scenario.name for scenario in plans[sizes[0].n]):
            notes: dict[int, str] = {}
            rounds: dict[int, list[Result]] = {size.n: [] for size in sizes}

            def measure(size: SizeRun, seconds: float, index: int = index) -> Result:
                scenario, port = plans[size.n][index], ports[size.n]
                if use_wrk and scenario.operation is None:
                    return run_wrk(port, scenario, options.connections, seconds)
                return run_python(port, scenario, options.connections, seconds, options.max_ops)

            for size in sizes:
                notes[size.n] = check(ports[size.n], plans[size.n][index], size.seeded)
                if options.warmup > 0:  # connections opened, caches and plans warm
                    measure(size, options.warmup)
            for turn in range(options.rounds):
                for size in sizes if turn % 2 == 0 else reversed(sizes):
                    rounds[size.n].append(measure(size, round_seconds))
            for size in sizes:
                result = combine(rounds[size.n])
                result.note = "; ".join(x for x in (notes[size.n], result.note) if x)
                size.results.append(result)
            print(
                f"   {name}: "
                + ", ".join(f"N={s.n} {s.result(name).throughput:.0f} ops/s" for s in sizes),
                flush=True,
            )
        for size in sizes:
            size.load_after = os.getloadavg()[0]


# --- reports ----------------------------------------------------------------------------


def print_table(size: SizeRun, options: Options) -> None:
    ceiling = size.result("ceiling")
    print(
        f"\nN = {size.n} ({size.seeded['repositories']} repositories, "
        f"{size.seeded['artifacts']} artifacts, "
        f"{size.seeded['user_grants'] + size.seeded['group_grants']} grant rows; reader sees "
        f"{size.seeded['visible_repositories']} repositories): {options.workers} gunicorn "
        f"sync workers, {options.connections} connections, {options.seconds:g} s per scenario "
        f"in {options.rounds} rounds; "
        f"load average {size.load_before:.1f} before, {size.load_after:.1f} after"
    )
    header = (
        f"{'scenario':<18} {'driver':<6} {'ops':>7} {'err':>4} {'ops/s':>8} "
        f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'thr/ceil':>9} {'p50/ceil':>9}  note"
    )
    print(header)
    print("-" * len(header))
    for r in size.results:
        thr = r.throughput / ceiling.throughput if ceiling.throughput else 0
        lat = r.p50 / ceiling.p50 if ceiling.p50 else 0
        print(
            f"{r.scenario:<18} {r.driver:<6} {r.ops:>7} {r.errors:>4} {r.throughput:>8.1f} "
            f"{r.p50:>8.2f} {r.p90:>8.2f} {r.p99:>8.2f} {thr:>8.2f}x {lat:>8.1f}x  {r.note}"
        )
    print(
        "(create+lock: one op = POST + PATCH; thr/ceil = throughput / ceiling's, "
        "p50/ceil = p50 / ceiling's)"
    )
    sql = ", ".join(f"{label} {ms:.2f}" for label, ms in size.sql_ms.items())
    print(f"list SQL alone, median ms: {sql}")


def print_growth(sizes: list[SizeRun]) -> bool:
    """List latency at each size against the smallest; True when all within the bound."""
    ordered = sorted(sizes, key=lambda s: s.n)
    within = True
    for large in ordered[1:]:
        small = ordered[0]
        print(
            f"\nList latency growth, N = {large.n} against N = {small.n} "
            f"(bound: {ACCEPTABLE_GROWTH:g}x on p50)"
        )
        for name in LIST_SCENARIOS:
            a, b = small.result(name), large.result(name)
            ratios = {q: getattr(b, q) / getattr(a, q) for q in ("p50", "p90", "p99")}
            ok = ratios["p50"] <= ACCEPTABLE_GROWTH
            within &= ok
            sql = "; ".join(
                f"{label.removeprefix(name).strip()} SQL {small.sql_ms[label]:.2f} -> "
                f"{large.sql_ms[label]:.2f} ms"
                for label in small.sql_ms
                if label.startswith(name)
            )
            print(
                f"  {name:<18} p50 {a.p50:.2f} -> {b.p50:.2f} ms ({ratios['p50']:.2f}x), "
                f"p90 {ratios['p90']:.2f}x, p99 {ratios['p99']:.2f}x: "
                f"{'within' if ok else 'OVER'} {ACCEPTABLE_GROWTH:g}x  ({sql})"
            )
    return within


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="scripts/bench.sh",
        description="Seed N repositories and measure Berth under gunicorn against a ceiling.",
        epilog="N = 100000 works but seeding and the 1%% reader's lists take several minutes.",
    )
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES), metavar="N")
    parser.add_argument("--seconds", type=float, default=10, help="measured time per scenario")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured time before each")
    parser.add_argument("--connections", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--rounds", type=int, default=5, help="split each scenario's time, alternating sizes"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--max-ops", type=int, default=200_000, help="per scenario (python)")
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--keep", action="store_true", help="leave PostgreSQL running")
    parser.add_argument("--explain", action="store_true", help="print the list query plans")
    args = parser.parse_args(argv)
    if any(n < 100 for n in args.sizes):
        parser.error("sizes must be at least 100 (the reader sees 1% of them)")
    if args.driver == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    return Options(
        sizes=args.sizes,
        seconds=args.seconds,
        warmup=args.warmup,
        connections=args.connections,
        rounds=max(1, args.rounds),
        workers=args.workers,
        max_ops=args.max_ops,
        driver=args.driver,
        keep=args.keep,
        explain=args.explain,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    # SIGTERM runs the finally blocks below (server and cluster stopped) like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = PostgresCluster()
    work = Path(tempfile.mkdtemp(prefix="berth-bench."))
    sizes: list[SizeRun] = []
    try:
        cluster.start()
        print("Machine")
        for key, value in machine_description(cluster.version()):
            print(f"  {key:<13} {value}")
        started = time.monotonic()
        if os.getloadavg()[0] > 0.5:
            print(
                f"  NOTE: load average {os.getloadavg()[0]:.1f} before starting: other "
                "processes use the CPU; figures will be noisy"
            )
        for n in options.sizes:
            sizes.append(prepare_size(cluster, n, options, work))
        print(
            f"\n== measuring: {options.rounds} rounds per scenario, alternating sizes", flush=True
        )
        measure_all(sizes, options, work)
        for size in sizes:
            print_table(size, options)
        print_growth(sizes)
        print(f"\nTotal time {time.monotonic() - started:.0f} s")
        errors = sum(r.errors for size in sizes for r in size.results)
        return 1 if errors else 0
    finally:
        if options.keep and cluster.started:
            print(f"\nPostgreSQL kept: {cluster.url('bench_<N>')} (data in {cluster.data})")
            print(f"  stop it: runuser -u postgres -- {cluster.bin}/pg_ctl -D {cluster.data} stop")
        else:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
