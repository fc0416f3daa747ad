"""Pulumi front: the ``BitbucketConnector`` dynamic resource and its auth input classes, and (in
:mod:`.native`) the native provider ``sgbitbucket``.

Imported only by Pulumi programs and plugins (it needs the ``pulumi`` extra); the rest of the
package never imports it. The provider lives in :mod:`sg_bitbucket_iac.pulumi.provider` so that
dill pickles it by reference. The names below load on first use, so that the native plugin, which
needs none of them, starts without the dynamic provider's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..extras import require_extra

require_extra("pulumi")  # names `pip install 'sg-bitbucket-iac[pulumi]'` instead of a ModuleNotFoundError

if TYPE_CHECKING:
    from ..errors import BitbucketConnectorError
    from .provider import TYPE_TOKEN, BitbucketConnectorProvider
    from .resource import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, BitbucketConnector

_HOMES = {
    "TYPE_TOKEN": "sg_bitbucket_iac.pulumi.provider",
    "BitbucketConnectorProvider": "sg_bitbucket_iac.pulumi.provider",
    "AccessTokenAuth": "sg_bitbucket_iac.pulumi.resource",
    "ApiTokenAuth": "sg_bitbucket_iac.pulumi.resource",
    "AppPasswordAuth": "sg_bitbucket_iac.pulumi.resource",
    "BitbucketConnector": "sg_bitbucket_iac.pulumi.resource",
    "BitbucketConnectorError": "sg_bitbucket_iac.errors",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "TYPE_TOKEN",
    "AccessTokenAuth",
    "ApiTokenAuth",
    "AppPasswordAuth",
    "BitbucketConnector",
    "BitbucketConnectorError",
    "BitbucketConnectorProvider",
]
