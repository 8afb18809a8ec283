"""The merged OpenAPI document tells the truth: Schemathesis, as a client developer would run it, against the
gateway's ``/openapi.json`` of a running platform, anonymous and logged in, with the checks
``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance``: 0 failures. No operation has a ``default`` response (each lists the
statuses its code can answer, ``shared/web/outcomes.py``), so ``status_code_conformance`` holds every
status answered to the document.

The budget (``PORTAL_SCHEMATHESIS_EXAMPLES`` cases per operation, default 15; a time budget would make
Schemathesis repeat fuzzing until it is spent) keeps each run to a few minutes on two cores; the seed is
fixed so a failure can be replayed with the command line the assertion prints. The coverage phase (cases
built from each schema's boundaries and missing or wrong-typed fields) runs too: about 2,200 cases in
13 s on its own against the anonymous platform (2026-12-03).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.people import log_in, register
from tests.support.platform import Platform, running_platform
from tests.support.processes import VENV_BIN, base_env

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = int(os.environ.get("PORTAL_SCHEMATHESIS_EXAMPLES", "15"))
# Ending the caller's own session or account would turn the rest of the logged-in run into 401s; the
# anonymous run covers these operations.
SESSION_ENDING = ("/api/identity/sessions/current", "/api/identity/privacy/erasures")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # Thousands of requests from one address: the per-IP and per-user limits would answer 429 to most.
    limits_off = {"GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off"}
    with running_platform(tmp_path_factory.mktemp("portal-run"), limits_off) as running:
        yield running


def schemathesis(platform: Platform, report: Path, *extra: str) -> str:
    argv = [str(VENV_BIN / "st"), "run", f"{platform.url}/openapi.json", "--url", platform.url,
            "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(EXAMPLES),
            # one worker: the coverage phase builds Hypothesis strategies whose lambda descriptions run ast.parse,
            # which is not thread-safe on CPython 3.11 ("AST constructor recursion depth mismatch" with 2 workers)
            "--seed", "20261202", "--workers", "1", "--request-timeout", "30", "--no-color",
            "--report", "junit", "--report-junit-path", str(report), *extra]
    # Its own working directory: Schemathesis keeps a run cache (.schemathesis/) where it runs.
    done = subprocess.run(argv, cwd=report.parent, env=base_env({"NO_COLOR": "1"}), capture_output=True, text=True,
                          timeout=900, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(argv)}\n{out[-8000:]}"
    return out


def assert_every_case_passed(out: str) -> None:
    selected, tested = re.search(r"Selected: (\d+)/\d+", out), re.search(r"Tested: (\d+)", out)
    assert selected and tested and selected.group(1) == tested.group(1) and int(tested.group(1)) >= 60, out[-3000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) > 500, out[-3000:]
    assert not re.search(r"\d+ (failed|errors?)\b", out.split("SUMMARY")[-1]), out[-3000:]


def test_anonymous_client(platform: Platform, tmp_path: Path):
    assert_every_case_passed(schemathesis(platform, tmp_path / "anonymous.xml"))


def test_logged_in_client(platform: Platform, tmp_path: Path):
    _uid, email = register(platform.url, "Fuzz")
    http = log_in(platform.url, email)
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    excluded = [arg for path in SESSION_ENDING for arg in ("--exclude-path", path)]
    out = schemathesis(platform, tmp_path / "user.xml", "-H", f"Cookie: {cookie}",
                       "-H", f"X-CSRF-Token: {http.headers['X-CSRF-Token']}", *excluded)
    assert_every_case_passed(out)
    # Still logged in at the end: the run exercised the routes as this user, not as a stranger.
    assert http.get(f"{platform.url}/api/identity/me", timeout=30).status_code == 200
