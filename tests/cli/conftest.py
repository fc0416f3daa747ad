"""Fixtures of the CLI tests; the harness itself is in cli_helpers.py (see its docstring)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import (
    CLI,
    SETTING_PREFIXES,
    WORKSPACE,
    EmulatorProcess,
    InProcess,
    World,
    clean_environ,
)
from seeding import seed_api_token, seed_credential, seed_workspace

from sg_bitbucket_iac.emulator import Emulator


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[EmulatorProcess]:
    process = subprocess.Popen([*CLI, "emulator", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=clean_environ())
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator did not start: {process.stderr.read() if process.stderr else ''}")
        yield EmulatorProcess(json.loads(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_orgs = itertools.count(1)


@pytest.fixture
def world(emulator_process: EmulatorProcess, sentinel: str, tmp_path: Path) -> Iterator[World]:
    org = f"org{next(_orgs)}"
    api_key = f"{sentinel}-sg-key"
    emulator_process.admin("POST", "/orgs", {"org": org, "api_keys": [api_key]})
    seed_workspace(emulator_process, WORKSPACE, project="INF")
    emulator_process.admin("DELETE", "/faults")
    emulator_process.admin("POST", "/clock", {"now": None})
    emulator_process.admin("DELETE", "/stats")
    created = World(emulator_process, org, sentinel, tmp_path)
    created.env = {
        **clean_environ(),
        "SG_API_TOKEN": api_key,
        "SG_BASE_URL": emulator_process.urls["stackguardian_url"],
        "SG_ORG": org,
        "BITBUCKET_API_URL": emulator_process.urls["bitbucket_url"],
        "SG_BITBUCKET_IAC_PREFLIGHT_BACKOFF": "0",
        "TOK_MAIN": f"{sentinel}-main-api-token",
    }
    created.api_token(created.env["TOK_MAIN"])
    infra_token = f"{sentinel}-infra-access-token"
    created.credential("access_token", infra_token, scopes=["repository", "pullrequest"], resource=f"{WORKSPACE}/infra")
    created.write("infra.token", infra_token + "\n")
    try:
        yield created
    finally:
        emulator_process.admin("DELETE", "/faults")
        emulator_process.admin("POST", "/clock", {"now": None})


@pytest.fixture
def inproc(emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, sentinel: str,
           monkeypatch: pytest.MonkeyPatch, sg_org: str, sg_api_key: str) -> InProcess:
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)
    main_token = f"{sentinel}-main-api-token"
    seed_workspace(emulator, WORKSPACE, project="INF")
    seed_api_token(emulator, main_token, workspaces=[WORKSPACE])
    infra_token = f"{sentinel}-infra-access-token"
    seed_credential(emulator, "access_token", infra_token, scopes=["repository", "pullrequest"],
                    resource=f"{WORKSPACE}/infra")
    (tmp_path / "infra.token").write_text(infra_token + "\n", encoding="utf-8")
    return InProcess(emulator, capsys, monkeypatch, tmp_path, sentinel, env={
        "SG_API_TOKEN": sg_api_key,
        "SG_BASE_URL": emulator.stackguardian_url,
        "SG_ORG": sg_org,
        "BITBUCKET_API_URL": emulator.bitbucket_url,
        "SG_BITBUCKET_IAC_PREFLIGHT_BACKOFF": "0",
        "TOK_MAIN": main_token,  # ${env:...} references read the command's environment
    })
