"""Gateway throughput: requests/s through the gateway beside the same service called directly, and
beside nginx in front of the same service.

Same run, same machine: identity (the target is ``GET /policy``) runs under gunicorn on a private
Redis and a fresh SQLite file; the load generator calls it directly (with headers signed as the
gateway would sign them, so the service does the same work), through nginx (Debian's, 2 workers,
keep-alive upstream: the proxy a user would otherwise put there; the same signed headers passed on),
through a gateway under gunicorn (rate limits on, an access event spooled per request), and through the
same gateway with recording switched off (``bench/gateway_unrecorded.py``, loaded only here), which
prices the access event. Goals: gateway >= 0.6x direct, recording <= 10 %.

The load generator is ``wrk`` when it can be had (``apt-get install wrk`` is tried once, as root,
non-interactively); otherwise a Python generator of keep-alive connections on threads in a few
processes, which costs more CPU itself, so its figures are lower for both sides. nginx is installed the
same way (``apt-get install nginx``); without it the nginx figure is left out.

``run(report)`` is called by the benchmark runner; ``python bench/bench_gateway.py`` runs alone.
Environment: BENCH_GATEWAY_SECONDS per round (default 5), BENCH_GATEWAY_ROUNDS (default 3; direct and
gateway alternate, medians reported), BENCH_GATEWAY_CONNECTIONS (default 32), BENCH_KEEP=1 keeps the
work directory and logs, BENCH_GATEWAY_TOOL=python forces the Python load generator.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from shared.identity import Identity  # noqa: E402
from shared.web.identity import sign_headers  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until  # noqa: E402
from tests.support.redis_server import start_redis  # noqa: E402

Report = Callable[..., None]
PATHS = ("/policy", "/healthz")  # identity's: a small read of its database, and no work at all
SECRET = secrets.token_hex(16)  # this run only
# Each side under the gunicorn settings `portal run` gives it (services/cli/run_plan.py gunicorn_argv): the
# gateway its own (services/gateway/gunicorn_conf.py: workers, threads, keep-alive), identity the shared web
# settings, but with two worker processes (portal run starts one): the direct baseline is the service at its
# best on both cores, so the gateway's share of it is not flattered by a one-process service.
GATEWAY_GUNICORN = ["-c", "python:services.gateway.gunicorn_conf", "--log-level", "warning"]
SERVICE_GUNICORN = ["-c", "python:shared.web.gunicorn_conf", "--workers", "2", "--threads", "4",
                    "--log-level", "warning"]


def seconds() -> int:
    return int(os.environ.get("BENCH_GATEWAY_SECONDS", "5"))


def rounds() -> int:
    return int(os.environ.get("BENCH_GATEWAY_ROUNDS", "3"))


def connections() -> int:
    return int(os.environ.get("BENCH_GATEWAY_CONNECTIONS", "32"))


# --- load generators -------------------------------------------------------------------------------

def find_tool(command: str, package: str | None = None, directories: tuple[str, ...] = ()) -> str | None:
    """The path of ``command``, installing Debian's ``package`` (default: the command's name) when missing."""

    def which() -> str | None:
        return shutil.which(command) or next(
            (str(Path(d) / command) for d in directories if (Path(d) / command).is_file()), None)

    found = which()
    if found or os.environ.get("BENCH_NO_APT") or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", package or command]
    # One quiet attempt (with fresh package lists if the first fails); no network means no tool.
    for steps in ([install], [["apt-get", "update", "-qq"], install]):
        try:
            for step in steps:
                subprocess.run(step, check=True, timeout=180, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        if which():
            break
    return which()


def find_wrk() -> str | None:
    return find_tool("wrk")


def find_nginx() -> str | None:
    return find_tool("nginx", directories=("/usr/sbin",))


NGINX_CONF = """
worker_processes 2;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream service {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://service; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
"""


def nginx_proc(nginx: str, port: int, upstream: int, workdir: Path) -> Proc:
    """Debian's nginx, 2 workers, keep-alive connections to the upstream, everything under ``workdir``."""
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=port, upstream=upstream))
    return Proc("nginx", [nginx, "-c", str(conf), "-p", str(workdir)], dict(os.environ), workdir)


Headers = Callable[[], dict[str, str]]
_WRK_THREADS = 2
# Signed calls are good once (a nonce each): the direct run sends a fresh signature with every request.
_POOL_SCRIPT = """
local pool = {%s}
counter = 0
function setup(thread) thread:set("slot", counter); counter = counter + 1 end
function init(args) i = slot + 1 end
function request()
  local h = pool[i] or pool[1]
  i = i + %d
  return wrk.format(nil, nil, h)
end
"""


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ",".join(f'["{k}"]="{v}"' for k, v in headers.items()) + "}"


def wrk_rate(wrk: str, url: str, headers: Headers, duration: int, fresh: bool = False) -> tuple[float, int]:
    """(requests/s, non-2xx responses) from wrk; ``fresh``: another ``headers()`` for every request."""
    # A loaded machine answers slowly, not wrongly: wrk's default 2 s would count a late answer as failed.
    args = [wrk, "-t", str(_WRK_THREADS), "-c", str(connections()), "-d", f"{duration}s", "--latency",
            "--timeout", "20s"]
    if fresh:
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        pool = ",".join(_lua_table(headers()) for _ in range(8000 * duration))  # beyond any rate reached here
        script.write_text(_POOL_SCRIPT % (pool, _WRK_THREADS))
        args += ["-s", str(script)]
    else:
        for key, value in headers().items():
            args += ["-H", f"{key}: {value}"]
    try:
        out = subprocess.run([*args, url], check=True, capture_output=True, text=True, timeout=duration + 60).stdout
    finally:
        if fresh:
            script.unlink(missing_ok=True)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*?timeout (\d+)", out)
    return rate, (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0)


def _python_worker(host: str, port: int, path: str, headers: Headers, threads: int, stop_at: float,
                   results) -> None:
    counts = [0, 0]  # ok, bad
    lock = threading.Lock()

    def loop() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        ok = bad = 0
        while time.monotonic() < stop_at:
            try:
                conn.request("GET", path, headers=headers())
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok += 1
                else:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
        with lock:
            counts[0] += ok
            counts[1] += bad

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put(tuple(counts))


def python_rate(url: str, headers: Headers, duration: int) -> tuple[float, int]:
    """Keep-alive connections on threads, in two processes (one per core) to get past the GIL."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    results: multiprocessing.Queue = multiprocessing.Queue()
    stop_at = time.monotonic() + duration
    procs = [multiprocessing.Process(target=_python_worker,
                                     args=(host, int(port), "/" + path, headers, connections() // 2, stop_at,
                                           results)) for _ in range(2)]
    started = time.monotonic()
    for p in procs:
        p.start()
    totals = [results.get(timeout=duration + 60) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    return sum(t[0] for t in totals) / elapsed, sum(t[1] for t in totals)


# --- the rig ---------------------------------------------------------------------------------------

def gunicorn(name: str, app: str, port: int, env: dict[str, str], log_dir: Path) -> Proc:
    settings = GATEWAY_GUNICORN if name.startswith("gateway") else SERVICE_GUNICORN
    return Proc(name, [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *settings, app], env, log_dir)


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def alternate(targets: dict[str, tuple[str, Headers]], measure: Callable[[str, Headers, int], tuple[float, int]],
              duration: int) -> dict[str, float]:
    """Median requests/s of each target over ``rounds()`` rounds that alternate between them (on a shared
    machine the load moves during a run, and it should move under every figure alike); raises on failures."""
    for url, headers in targets.values():
        measure(url, headers, 2)  # warm-up: connections, caches, lazy imports
    found: dict[str, list[float]] = {name: [] for name in targets}
    bad = 0
    for _ in range(rounds()):
        for name, (url, headers) in targets.items():
            rate, failed = measure(url, headers, duration)
            print(f"  {name}: {rate:,.0f} req/s", file=sys.stderr, flush=True)  # progress: a long run shows as it goes
            found[name].append(rate)
            bad += failed
    if bad:
        raise RuntimeError(f"{bad} failed responses during the run")
    return {name: round(statistics.median(values)) for name, values in found.items()}


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    server = start_redis()
    procs: list[Proc] = []
    try:
        identity_port, gateway_port = free_port(), free_port()
        env = base_env({
            "PORTAL_INTERNAL_SECRET": SECRET, "PORTAL_VAR_DIR": str(workdir), "REDIS_URL": server.url,
            "IDENTITY_URL": f"http://127.0.0.1:{identity_port}",
            # the other services are not part of this figure
            **{f"{s.upper()}_URL": f"http://127.0.0.1:{free_port()}" for s in ("linking", "content", "audit")},
            # limits on (a Redis round trip per request, as in production) but out of the way
            "GATEWAY_RATE_LIMIT_IP": "100000000/min", "GATEWAY_RATE_LIMIT_USER": "100000000/min",
        })
        identity = gunicorn("identity", "services.identity.wsgi:app", identity_port, env, workdir).start()
        procs.append(identity)
        gateway = gunicorn("gateway", "services.gateway.wsgi:app", gateway_port, env, workdir).start()
        procs.append(gateway)
        direct_url = f"http://127.0.0.1:{identity_port}"
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        for proc, url in ((identity, direct_url), (gateway, gateway_url)):
            wait_until(lambda url=url: _up(url), timeout=60, message=f"{proc.name} up")
        for path in PATHS:
            assert requests.get(gateway_url + "/api/identity" + path, timeout=5).status_code == 200
        nginx = find_nginx()
        nginx_url = None
        if nginx:
            nginx_port = free_port()
            procs.append(nginx_proc(nginx, nginx_port, identity_port, workdir).start())
            nginx_url = f"http://127.0.0.1:{nginx_port}"
            wait_until(lambda: _up(nginx_url), timeout=30, message="nginx up")

        wrk = None if os.environ.get("BENCH_GATEWAY_TOOL") == "python" else find_wrk()
        duration = seconds()
        # The direct call carries what the gateway would add: a signature good for one call, made for each.
        def signed() -> dict[str, str]:
            return sign_headers(SECRET.encode(), Identity(request_id="bench", client_ip="127.0.0.1"), "GET",
                                "/policy", service="identity")

        def measure(url: str, headers: Headers, length: int) -> tuple[float, int]:
            if wrk:
                return wrk_rate(wrk, url, headers, length, fresh=headers is signed)
            return python_rate(url, headers, length)

        targets: dict[str, tuple[str, Headers]] = {}
        for path in PATHS:
            targets[f"direct {path}"] = (direct_url + path, signed)
            targets[f"gateway {path}"] = (gateway_url + "/api/identity" + path, dict)
            if nginx_url:
                targets[f"nginx {path}"] = (nginx_url + path, signed)
        rates = alternate(targets, measure, duration)
        # The gateway with recording off: the same process model, started once the others are measured
        # (it replaces the recording gateway on the two cores).
        gateway.stop()
        procs.remove(gateway)
        quiet = gunicorn("gateway-unrecorded", "bench.gateway_unrecorded:app", gateway_port, env, workdir).start()
        procs.append(quiet)
        wait_until(lambda: _up(gateway_url), timeout=60, message="unrecorded gateway up")
        policy = PATHS[0]
        unrecorded = alternate({"gateway, recording off": (gateway_url + "/api/identity" + policy, dict),
                                "direct": targets[f"direct {policy}"]}, measure, duration)
        tool = "wrk" if wrk else "python threads"
        label = f"({tool}, {connections()} connections, median of {rounds()})"
        for path in PATHS:
            gateway_rate, direct_rate = rates[f"gateway {path}"], rates[f"direct {path}"]
            report(f"gateway GET /api/identity{path} {label}", gateway_rate, "req/s",
                   "identity called directly", direct_rate)
            if nginx_url:
                report(f"gateway GET /api/identity{path} {label}", gateway_rate, "req/s",
                       "nginx in front of identity (2 workers, keep-alive upstream)", rates[f"nginx {path}"])
                report(f"nginx in front of identity {path} {label}", rates[f"nginx {path}"], "req/s",
                       "identity called directly", direct_rate)
        # Recording on vs off, each against direct measured beside it (the runs are minutes apart).
        report(f"gateway {policy}, recording on, as a share of direct {label}",
               round(rates[f"gateway {policy}"] / rates[f"direct {policy}"], 3), "x direct",
               "the same gateway with recording off (bench build), as a share of direct",
               round(unrecorded["gateway, recording off"] / unrecorded["direct"], 3))

    finally:
        for proc in procs:
            proc.stop()
        server.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"bench work directory kept: {workdir}")


def _print_report(name: str, value: float, unit: str, baseline_name: str, baseline_value: float) -> None:
    ratio = value / baseline_value if baseline_value else float("nan")
    print(f"{name}: {value:,} {unit}  |  {baseline_name}: {baseline_value:,} {unit}  (x{ratio:.2f})")


if __name__ == "__main__":
    run(_print_report)
