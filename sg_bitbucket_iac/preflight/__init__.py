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

import requests

from ..bitbucket import MAX_REQUESTS, TIMEOUT_SECONDS, BitbucketClient
from ..identifiers import Identifier
from ..model import AnyAuth
from ..redact import shorten
from ..settings import checked_base_url
from .algorithms import ALGORITHMS
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
    repositories: Sequence[str] = (),
    cache: PreflightCache | None = DEFAULT_CACHE,
    retry_backoff: float = 1.0,
    session: requests.Session | None = None,
    timeout: float | None = None,
) -> PreflightResult:
    """Check one credential against Bitbucket for ``workspace``; never raises for an HTTP outcome.

    ``repositories`` are slugs the connector must reach (an access token's own ``repository`` is
    added automatically). ``retry_backoff`` is the backoff factor: 1.0 gives the documented 1 s,
    2 s, 4 s. ``timeout``: seconds to wait for each answer (None: the client's default). What the
    date means for an app password is not asked here (engine/precheck.py decides it first).
    """
    base = checked_base_url(api_url, "bitbucket_api_url")
    repositories = tuple(unique(repositories))

    def execute() -> PreflightResult:
        return _execute(auth, workspace, base, repositories, retry_backoff, session, timeout)

    if cache is None:
        return execute()
    return cache.get_or_run(preflight_cache_key(auth, workspace, base, repositories), execute)


def _execute(
    auth: AnyAuth,
    workspace: str,
    api_url: str,
    repositories: Sequence[str],
    retry_backoff: float,
    session: requests.Session | None,
    timeout: float | None,
) -> PreflightResult:
    client = BitbucketClient(api_url, auth.authorization_header(), retry_backoff=retry_backoff, session=session,
                             timeout=TIMEOUT_SECONDS if timeout is None else timeout)
    run = ProbeRun(auth, workspace, client)
    try:
        if not workspace.strip():
            run.add("workspace", Outcome.INVALID_INPUT, "the Bitbucket workspace is required for preflight.")
        elif not _identifiers_valid(run, workspace, repositories):
            pass  # a value that cannot be a URL path segment: no request at all
        else:
            ALGORITHMS[auth.preflight.algorithm](run, auth, repositories)
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


def _identifiers_valid(run: ProbeRun, workspace: str, repositories: Sequence[str]) -> bool:
    """Record an INVALID_INPUT check for each value that would go into a path and breaks its rule."""
    refusals = [("workspace", Identifier.WORKSPACE.message(workspace))]
    refusals += [(f"repository:{shorten(slug)}", Identifier.REPOSITORY.message(slug)) for slug in repositories]
    for name, message in refusals:
        if message is not None:
            run.add(name, Outcome.INVALID_INPUT, message)
    return all(message is None for _name, message in refusals)


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
