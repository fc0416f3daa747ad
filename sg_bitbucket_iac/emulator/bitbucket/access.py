"""Who may call what: authentication (401), the mechanism check and the scope check (403).

In Bitbucket's order: the Authorization header must carry a credential in the scheme its kind
uses (API tokens and app passwords Basic, access tokens Bearer), then the endpoint must accept
the mechanism (access tokens are not users), then every scope the endpoint requires must be
granted, directly or by implication. Every answer to an authenticated caller, 403s included,
carries ``x-oauth-scopes``, ``x-accepted-oauth-scopes`` and ``x-credential-type``. Sources:
docs/evidence.md#bitbucket-authentication-per-credential-kind and
docs/evidence.md#bitbucket-scopes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from ..core import Request, Response
from .answers import BAD_BASIC_CREDENTIALS, LACKS_SCOPES, NOT_ACCESSIBLE, TOKEN_INVALID, error_answer, unauthorized
from .credentials import Credential
from .scopes import classic_closure
from .state import BitbucketState


@dataclass(frozen=True)
class EndpointScopes:
    """Which scopes an endpoint requires: the spec's ``x-atlassian-oauth2-scopes`` (API tokens) and
    ``security`` (classic) of the operation, as ``tests/bitbucket-openapi-subset.json`` copies them."""

    api_token: tuple[str, ...]
    classic: tuple[str, ...]
    access_tokens_allowed: bool = True

    def required_for(self, credential: Credential) -> tuple[str, ...]:
        return self.api_token if credential.uses_api_token_scopes else self.classic

    def accepted_header(self, credential: Credential) -> str:
        """``x-accepted-oauth-scopes``: classic scope names, narrowed to the granted ones that satisfy it.

        Two public captures, and this rule fits both: Atlassian's KB "How to fetch the scope of a
        token via command line" shows a repository token holding ``repository:write`` on a read
        endpoint (which needs ``repository``) answered ``x-accepted-oauth-scopes: repository:write``;
        a community thread (API token holding ``write:pullrequest:bitbucket``, POST .../approve)
        shows ``x-accepted-oauth-scopes: pullrequest:write``, the classic name, next to
        ``x-oauth-scopes`` in the new names
        (https://community.atlassian.com/forums/Bitbucket-questions/ERROR-APPROVE-PR-FOR-API-TOKEN-PERSONAL/qaq-p/3226160).
        """
        if not credential.uses_api_token_scopes:
            satisfying = [s for s in credential.scopes if set(self.classic) & classic_closure([s])]
            if satisfying:
                return ", ".join(satisfying)
        return ", ".join(self.classic)


USER_SCOPES = EndpointScopes(("read:user:bitbucket",), ("account",), access_tokens_allowed=False)
USER_WORKSPACES_SCOPES = EndpointScopes(("read:workspace:bitbucket",), ("account",), access_tokens_allowed=False)
REPOSITORY_SCOPES = EndpointScopes(("read:repository:bitbucket",), ("repository",))
PULLREQUEST_SCOPES = EndpointScopes(("read:pullrequest:bitbucket",), ("pullrequest",))
PROJECT_SCOPES = EndpointScopes(("read:project:bitbucket",), ("project",))
# [emulator choice] the spec subset records no scopes for GET /workspaces/{workspace} ("classic": null,
# "token": null), so any authenticated member may read it and no scope is checked or announced.
WORKSPACE_SCOPES = EndpointScopes((), ())


@dataclass
class Call:
    """One authenticated request on its way through an endpoint."""

    request: Request
    credential: Credential
    scopes: EndpointScopes

    @property
    def api(self) -> str:
        """This API's base as the client reached it, for the objects' `links`."""
        return f"http://{self.request.headers.get('host', 'api.bitbucket.org')}/2.0"

    def headers(self) -> dict[str, str]:
        """Granted scopes as granted (no implied ones), the accepted ones, and the credential type."""
        headers = {
            "x-oauth-scopes": ", ".join(self.credential.scopes),
            "x-accepted-oauth-scopes": self.scopes.accepted_header(self.credential),
            "x-credential-type": self.credential.credential_type,
        }
        if not headers["x-accepted-oauth-scopes"]:
            del headers["x-accepted-oauth-scopes"]
        return headers

    def with_headers(self, response: Response) -> Response:
        response.headers.update(self.headers())
        return response


def authorize(request: Request, state: BitbucketState, scopes: EndpointScopes, now: datetime) -> Call | Response:
    """The call, or the answer that ends it: authenticate (401), check the mechanism (403), the scopes (403)."""
    found = authenticate(request, state, now)
    if isinstance(found, Response):
        return found
    call = Call(request, found, scopes)
    if found.kind == "access_token" and not scopes.access_tokens_allowed:
        # A third-party Go client observed a 403 that still carries the credential headers; no
        # Atlassian source settles it (the spec's x-atlassian-auth-types list only forge-oauth2 and
        # api-token on every operation). [emulator choice] every /2.0/user* endpoint answers so:
        # tokens are not users.
        return call.with_headers(error_answer(403, NOT_ACCESSIBLE))
    required = scopes.required_for(found)
    effective = found.effective_scopes()
    if any(scope not in effective for scope in required):
        body = error_answer(403, LACKS_SCOPES, detail={"required": list(required), "granted": list(found.scopes)})
        return call.with_headers(body)
    return call


def authenticate(request: Request, state: BitbucketState, now: datetime) -> Credential | Response:
    """Who may present which credential in which Authorization scheme (else a 401)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "basic":
        try:
            user, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if not sep:
            return unauthorized(BAD_BASIC_CREDENTIALS)
        credential = state.credentials.get(secret)
        if credential is None or credential.kind == "access_token":
            # Access tokens are Bearer for the API; x-token-auth:{token} is for git only.
            return unauthorized(TOKEN_INVALID if "@" in user else BAD_BASIC_CREDENTIALS)
        reason = credential.rejection(user, now, state.workspaces)
        return credential if reason is None else unauthorized(reason)
    if scheme == "bearer" and value:
        credential = state.credentials.get(value)
        # API tokens sent as Bearer get the token 401; app passwords are Basic only.
        if credential is None or credential.kind != "access_token":
            return unauthorized(TOKEN_INVALID, basic=False)
        reason = credential.rejection(None, now, state.workspaces)
        return credential if reason is None else unauthorized(reason, basic=False)
    # [emulator choice] every emulated repository is private, so anonymous calls get 401.
    return unauthorized("Authentication required.")
