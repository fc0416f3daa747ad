"""The optional fronts' dependencies: a missing extra is an error naming the install command.

`pip install sg-bitbucket-iac` installs the CLI only; the Pulumi and Terraform fronts need their
extras. Without this check a user would meet a ModuleNotFoundError traceback from deep inside.
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtraError

EXTRA_MODULES = {"pulumi": "pulumi", "terraform": "tf"}


def require_extra(extra: str) -> None:
    """Raise :class:`MissingExtraError` when the extra's top-level module cannot be imported."""
    module = EXTRA_MODULES[extra]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken package
        found = False
    if not found:
        raise MissingExtraError(extra, module)
