"""Which Terraform configuration runs this provider: its workspace and where its state lives.

A create interrupted after StackGuardian stored it is finished by the next run of the same
configuration only (:mod:`sg_bitbucket_iac.interrupted_create`). The tfplugin6 protocol tells a
provider neither the resource address nor the workspace, so the provider finds them as Terraform
and OpenTofu do: both start the provider in the root module's folder (after ``-chdir``), the
selected workspace is ``TF_WORKSPACE`` or the ``environment`` file of the data folder
(``TF_DATA_DIR``, default ``.terraform``), and ``init`` records the backend (its type and
settings) in the data folder's ``terraform.tfstate``. One workspace of one backend is one state,
so that is the identity: a remote backend (S3, the cloud block, ...) is the same on every machine
that runs the configuration; the local backend is named by the root module's absolute folder.

The identity never leaves the process: it only enters the creation marker's HMAC (a backend's
settings can hold a credential).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_MAX_FILE = 1 << 20  # Terraform's own files are small; anything larger is not one of them


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_FILE:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _backend(data_dir: Path) -> dict[str, Any] | None:
    """The backend ``init`` recorded (type and non-empty settings); None for the local backend or none."""
    text = _read(data_dir / "terraform.tfstate")
    try:
        recorded = json.loads(text) if text else None
    except ValueError:
        return None
    backend = recorded.get("backend") if isinstance(recorded, dict) else None
    if not isinstance(backend, dict) or not isinstance(backend.get("type"), str):
        return None
    config = backend.get("config")
    settings = {k: v for k, v in config.items() if v not in (None, "", [], {})} if isinstance(config, dict) else {}
    return {"type": backend["type"], "config": settings}


def configuration_identity(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """The workspace and the state location of the configuration that started this provider."""
    env = os.environ if environ is None else environ
    root = (cwd or Path.cwd()).resolve()
    data_dir = Path(env.get("TF_DATA_DIR") or ".terraform")
    if not data_dir.is_absolute():
        data_dir = root / data_dir
    workspace = (env.get("TF_WORKSPACE") or (_read(data_dir / "environment") or "").strip()) or "default"
    backend = _backend(data_dir)
    if backend is None or backend["type"] == "local":
        where: Any = {"local": str(root), **({"config": backend["config"]} if backend else {})}
    else:
        where = backend
    return json.dumps({"front": "terraform", "workspace": workspace, "state": where}, sort_keys=True)
