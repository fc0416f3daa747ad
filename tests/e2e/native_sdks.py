"""Building what runs on the generated SDKs: the Node.js SDK with tsc, the Go program, the Python SDK.

The Node.js and Go language hosts cannot be built here, so the programs in `programs/` run as
Automation API inline programs; this module compiles them once per test session:

* Node.js: a workspace holding `programs/nodejs` (its package-lock.json pins `@pulumi/pulumi` and
  `typescript`), its packages from one `npm ci` per package-lock.json kept under the user's cache
  folder (never changed once written, so runs and engineers share it; the first run fills it from
  the npm cache under HOME), `tsc -p sdk` on a copy of `sdk/nodejs`, then `tsc` on the program,
  which imports the SDK as `@stackguardian/sgbitbucket` (one `@pulumi/pulumi` for both, as in a
  user's project);
* Go: `go build` of `programs/go` (its go.mod replaces the SDK module with `sdk/go`), and `go vet`
  of the program and the SDK, against `github.com/pulumi/pulumi/sdk/v3` from the module proxy;
* Python: `pip install --target` of `sdk/python` (its dependencies are this venv's; the build backend,
  setuptools, comes from the pip cache or PyPI).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from engines import engines_required
from traffic_guard import registry_env

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk"
PROGRAMS = Path(__file__).resolve().parent / "programs"
NPM_FLAGS = ("--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")


def require_tool(name: str, why: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    message = f"`{name}` is not on PATH: {why}"
    if engines_required():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _run(argv: list[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}) in {cwd}:\n"
                             f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def installed_node_modules(npm: str) -> Path:
    """`npm ci` of programs/nodejs, once per package-lock.json (and Node.js version): its node_modules.

    Written into a fresh folder and renamed into place, never changed afterwards: concurrent runs each
    read a complete copy, and the one that loses the rename drops its own.
    """
    node = _run([require_tool("node", "the programs run on Node.js"), "--version"], PROGRAMS / "nodejs").strip()
    lock = b"".join((PROGRAMS / "nodejs" / name).read_bytes() for name in ("package.json", "package-lock.json"))
    key = hashlib.sha256(lock + node.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sg-bitbucket-iac" / "node"
    done = cache / key
    if not (done / "node_modules" / ".bin" / "tsc").exists():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=f".{key}-"))
        try:
            for name in ("package.json", "package-lock.json"):
                shutil.copy2(PROGRAMS / "nodejs" / name, staging / name)
            _run([npm, "ci", *NPM_FLAGS], staging, env=registry_env())
            with contextlib.suppress(OSError):  # another run got there first: its copy is as good
                staging.rename(done)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return done / "node_modules"


def build_node(workspace: Path) -> Path:
    """The compiled TypeScript program (bin/index.js) on the SDK compiled by tsc; the workspace folder."""
    npm = require_tool("npm", "the Node.js SDK is compiled with tsc from npm")
    for name in ("package.json", "package-lock.json", "tsconfig.json", "index.ts"):
        shutil.copy2(PROGRAMS / "nodejs" / name, workspace / name)
    shutil.copytree(SDK / "nodejs", workspace / "sdk")
    shared = installed_node_modules(npm)
    modules = workspace / "node_modules"  # the shared packages by link; the SDK's link is this workspace's own
    modules.mkdir()
    for entry in shared.iterdir():
        (modules / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    tsc = str(workspace / "node_modules" / ".bin" / "tsc")
    _run([tsc, "-p", "sdk"], workspace)  # the SDK's own tsconfig.json, as `npm run build` in it would
    shutil.copy2(workspace / "sdk" / "package.json", workspace / "sdk" / "bin" / "package.json")
    link = workspace / "node_modules" / "@stackguardian" / "sgbitbucket"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(workspace / "sdk" / "bin", target_is_directory=True)
    _run([tsc, "-p", "."], workspace)
    return workspace


def go_env() -> dict[str, str]:
    """The module proxy is a registry: the session's own proxy settings, not the traffic guard's."""
    return {**registry_env(), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}


def build_go(out: Path) -> Path:
    """The Go program's binary; the program and the SDK vetted."""
    go = require_tool("go", "the Go SDK is compiled with go build against github.com/pulumi/pulumi/sdk/v3")
    folder = PROGRAMS / "go"
    binary = out / "native-go-program"
    _run([go, "build", "-trimpath", "-o", str(binary), "."], folder, env=go_env())
    _run([go, "vet", ".", "github.com/stackguardian/sg-bitbucket-iac/sdk/go/..."], folder, env=go_env())
    return binary


def install_python_sdk(target: Path) -> Path:
    """`sdk/python` installed into ``target`` (put it on sys.path to import `pulumi_sgbitbucket`)."""
    source = target.parent / "python-sdk-source"
    shutil.copytree(SDK / "python", source)  # the build writes egg-info next to the sources: not in the repo
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
          "--target", str(target), str(source)], target.parent, env=registry_env())
    return target
