"""Pulumi front: the ``BitbucketConnector`` dynamic resource and its auth input classes.

Imported only by Pulumi programs (it needs the ``pulumi`` extra); the rest of the package never
imports it. The provider lives in :mod:`sg_bitbucket_iac.pulumi.provider` so that dill pickles it
by reference.
"""

from ..errors import BitbucketConnectorError
from .provider import TYPE_TOKEN, BitbucketConnectorProvider
from .resource import AccessTokenAuth, ApiTokenAuth, AppPasswordAuth, BitbucketConnector

__all__ = [
    "TYPE_TOKEN",
    "AccessTokenAuth",
    "ApiTokenAuth",
    "AppPasswordAuth",
    "BitbucketConnector",
    "BitbucketConnectorError",
    "BitbucketConnectorProvider",
]
