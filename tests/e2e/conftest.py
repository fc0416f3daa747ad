"""What the e2e tier builds once per session and several modules use."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest


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
