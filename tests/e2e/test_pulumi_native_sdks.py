"""The generated SDKs and docs are current: `pulumi package gen-sdk` on the plugin writes what is committed.

`scripts/gen-pulumi-sdks` runs the real CLI (`pulumi package get-schema` and `gen-sdk` on this
venv's `pulumi-resource-sgbitbucket`) with the codegen hosts `scripts/install-engines` builds, into
a temp dir; any difference from `sdk/` or `docs/pulumi/` fails, naming the files. That they
compile (tsc, go build/vet, a Python import) is shown by tests/e2e/test_pulumi_native_programs.py,
whose programs are built on them.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engines import engines_bin, engines_required, require_engine

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _differences(left: Path, right: Path) -> list[str]:
    """Files that differ, or exist on one side only, under two folders."""
    found: list[str] = []

    def walk(compare: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(f"{prefix}{name} (only committed)" for name in compare.left_only)
        found.extend(f"{prefix}{name} (only generated)" for name in compare.right_only)
        found.extend(f"{prefix}{name} (differs)" for name in compare.diff_files)
        for name, sub in compare.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=["node_modules", "bin", "__pycache__", "go.sum"]), "")
    return found


def test_generated_sdks_and_docs_are_current(tmp_path: Path) -> None:
    require_engine("pulumi", "pulumi package gen-sdk runs the real CLI")
    if not (engines_bin().parent / "codegen" / "pulumi-language-go").is_file():
        message = "no codegen hosts in the engines folder: run scripts/install-engines"
        if engines_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    out, docs = tmp_path / "sdk", tmp_path / "docs"
    done = subprocess.run([str(REPO / "scripts" / "gen-pulumi-sdks"), str(out), str(docs)], cwd=REPO,
                          env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    stale = _differences(REPO / "sdk", out) + [f"docs/pulumi/{d}" for d in _differences(REPO / "docs" / "pulumi", docs)]
    assert not stale, ("generated SDKs or docs differ from the committed ones; run scripts/gen-pulumi-sdks and "
                       f"commit: {stale}")
