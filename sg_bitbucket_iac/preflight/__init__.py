"""Credential preflight: try a connector's credentials against Bitbucket before StackGuardian gets them.

A wrong email, a missing scope or a token for another repository then fails with a precise
message instead of a connector that silently cannot clone. At most six requests per credential;
429/5xx are retried and reported INCONCLUSIVE, never as invalid credentials; nothing here raises
for an HTTP outcome. Files: scopes.py (vocabulary), run.py (recording answers), algorithms.py
(one algorithm per auth type), result.py (the verdict), cache.py (per process).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import requests

from ..bitbucket import MAX_REQUESTS, TIMEOUT_SECONDS, AnyAuth, BitbucketClient, authorization_header
from ..model import ApiTokenAuth, AppPasswordAuth
from ..settings import checked_base_url
from ..timeline import app_password_status
from .algorithms import PROFILES, access_token_preflight, api_token_preflight, app_password_preflight
from .cache import DEFAULT_CACHE, PreflightCache, preflight_cache_key
from .result import Identity, Outcome, PreflightCheck, PreflightResult, PreflightStatus, unique
from .run import ProbeRun
from .scopes import implied_scopes

logger = logging.getLogger(__name__)


def run_preflight(
    auth: AnyAuth,
    workspace: str,
    *,
    api_url: str,
    now: datetime,
    new_connector: bool = True,
    repositories: Sequence[str] = (),
    cache: PreflightCache | None = DEFAULT_CACHE,
    retry_backoff: float = 1.0,
    session: requests.Session | None = None,
    timeout: float | None = None,
) -> PreflightResult:
    """Check one credential against Bitbucket for ``workspace``; never raises for an HTTP outcome.

    ``now`` is the product clock (app-password timeline). ``repositories`` are slugs the connector
    must reach (an access token's own ``repository`` is added automatically). ``retry_backoff`` is
    the backoff factor: 1.0 gives the documented 1 s, 2 s, 4 s. ``timeout``: seconds to wait for
    each answer (None: the client's default).
    """
    base = checked_base_url(api_url, "bitbucket_api_url")
    repositories = tuple(unique(repositories))
    context: tuple[str, ...] = ()
    if isinstance(auth, AppPasswordAuth):  # only their verdict depends on the date and on new vs existing
        context = (app_password_status(now).phase.value, str(new_connector))

    def execute() -> PreflightResult:
        return _execute(auth, workspace, base, now, new_connector, repositories, retry_backoff, session, timeout)

    if cache is None:
        return execute()
    return cache.get_or_run(preflight_cache_key(auth, workspace, base, repositories, context), execute)


def _execute(
    auth: AnyAuth,
    workspace: str,
    api_url: str,
    now: datetime,
    new_connector: bool,
    repositories: Sequence[str],
    retry_backoff: float,
    session: requests.Session | None,
    timeout: float | None,
) -> PreflightResult:
    client = BitbucketClient(api_url, authorization_header(auth), retry_backoff=retry_backoff, session=session,
                             timeout=TIMEOUT_SECONDS if timeout is None else timeout)
    run = ProbeRun(auth, workspace, client, PROFILES[auth.auth_type])
    try:
        if not workspace.strip():
            run.add("workspace", Outcome.INVALID_INPUT, "the Bitbucket workspace is required for preflight.")
        elif isinstance(auth, ApiTokenAuth):
            api_token_preflight(run, auth, repositories)
        elif isinstance(auth, AppPasswordAuth):
            app_password_preflight(run, auth, repositories, now, new_connector)
        else:
            access_token_preflight(run, auth, repositories)
    finally:
        client.close()
    result = run.result()
    logger.info(
        "Bitbucket preflight of the %s for workspace %s: %s (%d requests)",
        auth.auth_type.value,
        workspace,
        result.status.value,
        result.requests_made,
    )
    return result



__all__ = [
    "DEFAULT_CACHE",
    "MAX_REQUESTS",
    "Identity",
    "Outcome",
    "PreflightCache",
    "PreflightCheck",
    "PreflightResult",
    "PreflightStatus",
    "implied_scopes",
    "preflight_cache_key",
    "run_preflight",
]
