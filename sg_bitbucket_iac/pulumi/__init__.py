"""Pulumi front: the ``BitbucketConnector`` dynamic resource and its auth input classes.

Imported only by Pulumi programs (it needs the ``pulumi`` extra); the rest of the package never
imports it. The provider lives in :mod:`sg_bitbucket_iac.pulumi.provider` so that dill pickles it
by reference.
"""

from ..extras import require_extra

require_extra("pulumi")  # names `pip install 'sg-bitbucket-iac[pulumi]'` instead of a ModuleNotFoundError

from ..errors import BitbucketConnectorError  # noqa: E402
from .provider import TYPE_TOKEN, BitbucketConnectorProvider  # noqa: E402
from .resource import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, BitbucketConnector  # noqa: E402

__all__ = [
    "TYPE_TOKEN",
    "AccessTokenAuth",
    "ApiTokenAuth",
    "AppPasswordAuth",
    "BitbucketConnector",
    "BitbucketConnectorError",
    "BitbucketConnectorProvider",
]
