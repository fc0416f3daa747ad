"""What the e2e tier builds once per session and several modules use."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from engines import engines_required
from tf_harness import PROVIDER_SCRIPT, Engine, discover_engines, report_line, venv_bin

# Every Terraform-protocol engine present, by absolute path and version (tf_harness.discover_engines).
TERRAFORM_ENGINES = discover_engines()


@pytest.fixture(scope="session")
def python_sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated Python SDK (`sdk/python`), installed once and imported: `pulumi_sgbitbucket`."""
    pytest.importorskip("pulumi")
    from native_sdks import install_python_sdk

    site = install_python_sdk(tmp_path_factory.mktemp("python") / "site")
    sys.path.insert(0, str(site))
    try:
        yield importlib.import_module("pulumi_sgbitbucket")
    finally:
        sys.path.remove(str(site))
        for name in [n for n in sys.modules if n == "pulumi_sgbitbucket" or n.startswith("pulumi_sgbitbucket.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def mirror_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Terraform CLI config of a filesystem mirror that `sg-bitbucket terraform-mirror` wrote (one per module)."""
    from tf_harness import write_mirror

    return write_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="module", params=TERRAFORM_ENGINES, ids=[e.id for e in TERRAFORM_ENGINES])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each Terraform-protocol engine in turn, named with its version on the terminal; a missing required
    one fails under SG_BITBUCKET_IAC_REQUIRE_ENGINES=1 (CI), else it is left out with a skip."""
    found: Engine = request.param
    if found.binary is None:
        message = f"{found.id}: not found"
        if found.required and engines_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    if not (venv_bin() / PROVIDER_SCRIPT).exists():
        pytest.fail(f"{PROVIDER_SCRIPT} is not installed next to {venv_bin()}; run `pip install -e .`")
    report_line(request.config, f"e2e engine: {found.describe()}")
    return found


@pytest.fixture(scope="session", autouse=True)
def _engines_named(request: pytest.FixtureRequest) -> None:
    """Every e2e run names each engine it can run on, with its version and path, on the terminal: the
    Terraform-protocol engines (each module says again which one it runs) and the Pulumi CLI."""
    from engines import find_engine_binary

    named = [e.describe() for e in TERRAFORM_ENGINES if e.binary is not None]
    pulumi = find_engine_binary("pulumi")
    if pulumi is not None:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "PULUMI_HOME": home, "PULUMI_SKIP_UPDATE_CHECK": "true", "HOME": home}
            shown = subprocess.run([str(pulumi), "version"], capture_output=True, text=True, timeout=60, env=env)
        named.append(f"pulumi-{shown.stdout.strip() or '?'} ({pulumi})")
    yaml_host = find_engine_binary("pulumi-language-yaml")
    if yaml_host is not None:
        named.append(f"pulumi-language-yaml ({yaml_host})")
    report_line(request.config, "e2e engines: " + (", ".join(named) or "none found"))
