"""HTTP pieces shared by the StackGuardian and Bitbucket clients."""

from __future__ import annotations

import requests


class HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header as ``auth=``, so that a ~/.netrc entry can never replace it.

    requests applies netrc credentials when a request has no ``auth``, overwriting an
    Authorization header set by hand; passing this object as ``auth`` prevents that. Its repr
    never shows the value.
    """

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "<Authorization header (redacted)>"
