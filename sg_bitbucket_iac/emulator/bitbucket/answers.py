"""What the emulated Bitbucket says: its error texts and bodies, its JSON answers, its pages.

Sources for every text are on docs/evidence.md#bitbucket-error-and-status-shapes; the ones no
public capture settles are marked **[emulator choice]** with the reason.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ..core import Request, Response

# The content type of every JSON answer, as Atlassian's KB "How to fetch the scope of a token via
# command line" shows it in a captured response.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

# Every API-token problem (unscoped, Jira-only, expired, revoked, sent as Bearer) gets this 401.
TOKEN_INVALID = "Token is invalid, expired, or not supported for this endpoint."
# Access tokens outside their own workspace (Atlassian KB "This API is not accessible by this
# authentication mechanism").
NOT_ACCESSIBLE = "This API is not accessible by this authentication mechanism"
# The privilege-scope 403; its `detail` is an object with `required` and `granted`.
LACKS_SCOPES = "Your credentials lack one or more required privilege scopes."
# A Basic 401 carries this challenge (Atlassian KB "Getting 401 HTTP error while authenticating").
BASIC_REALM = 'Basic realm="Bitbucket.org HTTP"'
# [emulator choice] no source words the 401 of a wrong username / app password; the same body is
# used during the brownouts so that, as Atlassian's brownout notice implies, the two cannot be
# told apart.
BAD_BASIC_CREDENTIALS = "Invalid username or password."
# [emulator choice] the 404 text Bitbucket shows for repositories that are hidden or absent
# (404 means "not found or not visible").
REPOSITORY_NOT_FOUND = (
    "You may not have access to this repository or it no longer exists in this workspace. If you think "
    "this repository exists and you have access, make sure you are authenticated."
)
# The exact 410 body of the cross-workspace endpoints removed by CHANGE-2770.
CHANGE_2770_BODY: dict[str, Any] = {
    "type": "error",
    "error": {
        "message": "CHANGE-2770 - Functionality has been deprecated",
        "detail": "Please read the changelog entry for more details.",
        "data": {"announcement_url": "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"},
    },
}

# The spec's paginated envelopes give pagelen a minimum of 1 and say "the default value is 10 with
# 100 being the maximum allowed value" (docs/evidence.md#bitbucket-rate-limits-pagination-and-expiry).
MIN_PAGELEN, DEFAULT_PAGELEN, MAX_PAGELEN = 1, 10, 100


def json_answer(status: int, payload: Any) -> Response:
    return Response.json(status, payload, {"Content-Type": JSON_CONTENT_TYPE})


def error_answer(status: int, message: str, **extra: Any) -> Response:
    """The spec's "Standardized error responses" body: ``{"type": "error", "error": {"message", ...}}``."""
    error: dict[str, Any] = {"message": message}
    error.update(extra)
    return json_answer(status, {"type": "error", "error": error})


def unauthorized(message: str, basic: bool = True) -> Response:
    """A 401 carries no credential headers: the caller is nobody yet."""
    response = error_answer(401, message)
    if basic:
        response.headers["WWW-Authenticate"] = BASIC_REALM
    return response


def gone() -> Response:
    """The 410 of an endpoint removed by CHANGE-2770."""
    return json_answer(410, CHANGE_2770_BODY)


def page(request: Request, api: str, values: list[dict[str, Any]]) -> Response:
    """One page of ``values``: values, next (absent on the last page), previous, page, pagelen, size.

    ``api`` is this API's base as the client reached it (``http://<Host>/2.0``); the `next` and
    `previous` links repeat the request's query with another ``page``.
    """
    try:
        pagelen = int(request.arg("pagelen") or DEFAULT_PAGELEN)
        number = int(request.arg("page") or 1)
    except ValueError:
        return error_answer(400, "Invalid pagelen or page: integers expected.")
    if not MIN_PAGELEN <= pagelen <= MAX_PAGELEN or number < 1:
        return error_answer(
            400, f"Invalid pagelen or page: pagelen is {MIN_PAGELEN} to {MAX_PAGELEN}, page at least 1."
        )
    start = (number - 1) * pagelen
    payload: dict[str, Any] = {
        "values": values[start : start + pagelen],
        "pagelen": pagelen,
        "page": number,
        "size": len(values),
    }
    query = {k: v[0] for k, v in request.query.items()}
    here = f"{api.removesuffix('/2.0')}{request.path}"
    if start + pagelen < len(values):
        payload["next"] = f"{here}?{urlencode({**query, 'page': str(number + 1)})}"
    if number > 1:
        payload["previous"] = f"{here}?{urlencode({**query, 'page': str(number - 1)})}"
    return json_answer(200, payload)
