"""`sg-bitbucket emulator` as a separate process: the JSON line, the state file, SIGTERM/SIGINT."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests
from emu_helpers import TIMEOUT

from sg_bitbucket_iac.cli.main import main

STARTUP_TIMEOUT_S = 60


def first_line(stream: IO[str]) -> str:
    """The first stdout line, or a failure if none comes (a hung child must not hang the test run)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=STARTUP_TIMEOUT_S)
    except queue.Empty:
        pytest.fail("the emulator printed no line")


@pytest.fixture
def start_cli() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test; every one is killed at teardown if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def spawn(started: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sg_bitbucket_iac.cli.main", "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    return process


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_json_line_and_exits_cleanly_on_a_signal(
    start_cli: list[subprocess.Popen[str]], tmp_path: Path, signum: int
) -> None:
    state_file = tmp_path / "state.json"
    process = spawn(start_cli, "--port", "0", "--state", str(state_file))
    assert process.stdout is not None
    urls = json.loads(first_line(process.stdout))
    assert set(urls) == {"stackguardian_url", "bitbucket_url", "admin_url"}
    assert urls["bitbucket_url"].endswith("/2.0")
    admin = urls["admin_url"]
    assert requests.post(f"{admin}/orgs", json={"org": "acme", "api_keys": ["k"]}, timeout=TIMEOUT).ok
    listed = requests.get(f"{urls['stackguardian_url']}/api/v1/orgs/acme/integrations/listall/",
                          headers={"Authorization": "apikey k"}, timeout=TIMEOUT)
    assert listed.json() == {"msg": [], "lastevaluatedkey": ""}
    process.send_signal(signum)
    assert process.wait(timeout=60) == 0
    assert json.loads(state_file.read_text())["orgs"] == {"acme": ["k"]}


def test_secret_read_mode_flag(start_cli: list[subprocess.Popen[str]], sentinel: str) -> None:
    process = spawn(start_cli, "--secret-read-mode", "omit")
    assert process.stdout is not None
    urls = json.loads(first_line(process.stdout))
    requests.post(f"{urls['admin_url']}/orgs", json={"org": "acme", "api_keys": ["k"]}, timeout=TIMEOUT)
    body = {"ResourceName": "x", "Settings": {"kind": "BITBUCKET_ORG",
                                              "config": [{"bitbucketAccessToken": sentinel}]}}
    response = requests.post(f"{urls['stackguardian_url']}/api/v1/orgs/acme/integrations/", json=body,
                             headers={"Authorization": "apikey k"}, timeout=TIMEOUT)
    assert response.json()["data"]["Settings"]["config"] == [{"bitbucketAuthType": "ACCESS_TOKEN"}]
    process.terminate()
    assert process.wait(timeout=60) == 0


def test_a_non_loopback_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--host", "192.0.2.10"]) == 1
    assert "--allow-remote" in capsys.readouterr().err


def test_help_does_not_import_the_emulator() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from sg_bitbucket_iac.cli.main import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "heavy = ('http.server', 'requests', 'pydantic', 'sg_bitbucket_iac.emulator')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    assert "emulator" in capsys.readouterr().err
