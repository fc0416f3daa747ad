"""Errors a person can act on: one root, :class:`SGBitbucketError`, and every error under it.

Every error says what happened, which service said so, and what to do. None carries a secret:
texts that come back from a server are scrubbed of the secrets the request carried (by the client
that sent them) and have their control characters escaped (here, through :mod:`.redact`).

The class tree::

    SGBitbucketError
    ├── ConfigurationError            a setting is missing or unsafe
    │   └── UnsafeValueError          ... holds control characters
    ├── StackGuardianError            StackGuardian answered with an error, or could not be reached
    │   ├── BadRequestError           400
    │   │   └── DuplicateError        400/409 "already exists"
    │   │       └── CreateConflictError   ... and it is not the connector declared
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── RateLimitedError          429, after retries
    │   ├── ServerError               5xx, after retries
    │   │   └── UnexpectedAnswerError ... or an answer the API does not document (shape, size, depth)
    │   └── TransportError            no HTTP answer at all (by the exception's type, never its text)
    │       ├── RequestTimeoutError   no answer in time
    │       ├── ConnectionRefused     nothing listens there: the request never reached a server
    │       ├── NameNotResolved       the host name does not resolve
    │       ├── ConnectionDropped     the connection was reset or closed before an answer
    │       ├── TLSHandshakeFailed    the certificate is not trusted, or the server speaks no TLS
    │       ├── ProxyFailed           the proxy refused or failed the connection
    │       └── InvalidHeaderValue    a header value the HTTP library refuses to send
    ├── ConnectorValidationError      invalid input (also a ValueError); ``.problems``
    │   └── IdentifierError           ... a value that cannot be a URL path segment; ``.path``
    ├── ProblemsError                 several problems, nothing sent; ``.problems``
    │   └── DefinitionsError          ... in a definitions file
    ├── OddRecordError                a StackGuardian record this tool cannot read; ``.problems``
    ├── PreflightFailed               Bitbucket rejected the credentials; nothing written
    ├── ConnectorExistsError          the Id exists and is not managed here
    ├── ForeignOwnerError             another front owns the connector
    ├── NameClashError                the name is taken by another Id
    ├── AdoptError                    nothing to adopt
    ├── StalePlanError                a saved plan no longer matches
    ├── SecretReferenceError          a `${...}` reference that cannot be resolved (also a ValueError)
    ├── UsageError                    the command line is wrong
    ├── BitbucketConnectorError       what the Pulumi provider raises
    ├── DemoFailed                    a step of `sg-bitbucket demo`
    └── MissingExtraError             an optional dependency group is not installed

``.problems`` is a list of :class:`Problem` (where, which rule, what to do) wherever it appears.
This module imports nothing from the package but :mod:`.redact`, itself a leaf: any module may
raise these errors without an import loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .redact import escape_control

if TYPE_CHECKING:
    from .preflight import PreflightResult
    from .wire import ObservedConnector


class SGBitbucketError(Exception):
    """Base class for everything this package raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        if hint is not None:
            self.hint = hint
        super().__init__(f"{message}; {self.hint}" if self.hint else message)


class ConfigurationError(SGBitbucketError):
    """A setting is missing or unsafe (no API key, plain http:// to a remote host, ...)."""


class UnsafeValueError(ConfigurationError):
    """A key or credential holds control characters; the text names the setting, never the value."""


# --------------------------------------------------------------------------- StackGuardian answers
# Where a hint names a setting, its template says {api_key} or {api_url}: the client fills in where the
# value actually came from (a flag, a provider argument, stack config, an environment variable); these
# are the names when nobody says (the environment variables that set them).
SETTING_SOURCES = {"api_key": "SG_API_TOKEN or STACKGUARDIAN_API_KEY", "api_url": "SG_BASE_URL"}


class StackGuardianError(SGBitbucketError):
    """StackGuardian answered with an error, or could not be reached."""

    status: int | None = None
    category = "error"
    hint_template = ""  # the hint, with {api_key} / {api_url} where it names a setting

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "hint_template" in cls.__dict__:
            cls.hint = cls.hint_template.format(**SETTING_SOURCES)
        elif "hint" in cls.__dict__:
            cls.hint_template = ""  # a hint of its own that names no setting

    @classmethod
    def hint_naming(cls, sources: dict[str, str]) -> str:
        """This class's hint, naming where each setting came from (``sources``: setting -> its source)."""
        return cls.hint_template.format(**{**SETTING_SOURCES, **sources}) if cls.hint_template else cls.hint

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str | None = None,
        operation: str = "",
        hint: str | None = None,
    ) -> None:
        self.status = status if status is not None else self.status
        self.server_message = server_message
        self.operation = operation
        text = f"StackGuardian {operation}: {message}" if operation else f"StackGuardian: {message}"
        if server_message:
            # The server's words may echo names set outside this tool: never a raw escape sequence.
            server_message = self.server_message = escape_control(server_message, keep="")
            text += f" (server said: {server_message})"
        super().__init__(text, hint=hint)


class BadRequestError(StackGuardianError):
    status = 400
    category = "bad_request"
    hint = "fix the request field named by the server and try again"


class DuplicateError(BadRequestError):
    category = "duplicate"
    hint = "a connector with this Id exists already; pick another Id, or adopt/import the existing one"


class CreateConflictError(DuplicateError):
    """A create met a connector with the same Id that is not the one declared (another owner, or other values)."""

    category = "conflict"
    hint = ("another connector already holds this Id; compare it with `sg-bitbucket import ID --to-yaml`, then "
            "adopt it explicitly (CLI `adopt: true`, Pulumi adopt=True, `terraform import`) or give yours another Id")


class AuthenticationError(StackGuardianError):
    status = 401
    category = "unauthenticated"
    hint_template = "the StackGuardian API key is missing, invalid or expired; set a valid one in {api_key}"


class PermissionDeniedError(StackGuardianError):
    status = 403
    category = "forbidden"
    hint = "the API key is valid but may not manage connectors in this org; check the org name and the key's role"


class NotFoundError(StackGuardianError):
    status = 404
    category = "not_found"
    hint = "the connector (or org) does not exist; check the Id and the org"


class RateLimitedError(StackGuardianError):
    status = 429
    category = "rate_limited"
    hint = "StackGuardian is rate-limiting this key; retried with backoff and gave up: wait and run again"


class ServerError(StackGuardianError):
    category = "outage"
    hint = "StackGuardian had an internal error or is unavailable; retried with backoff and gave up: try later"


class UnexpectedAnswerError(ServerError):
    """A 2xx answer that is not what the API documents (a listall page without its list, a 200 whose body
    is an error object, not JSON), or one beyond the answer limits (size, depth). It is an outage: no
    front concludes from it that a connector is absent, and none creates, deletes or drops one over it."""

    category = "unexpected_answer"
    hint = ("StackGuardian answered something its API does not document; nothing was concluded from it (treated "
            "as an outage): try again later, and check that SG_BASE_URL is the StackGuardian API itself, not a "
            "proxy or a web page")


class TransportError(StackGuardianError):
    """No HTTP answer. The subclass is chosen by the type of the HTTP library's exception (see
    :func:`sg_bitbucket_iac.http.transport_failure`), and ``reason`` says it in words. The Bitbucket
    client, which records a failed probe instead of raising, keeps the same class on its answer."""

    category = "unreachable"
    reason = "no answer"
    hint_template = "check the API URL ({api_url}) and your network; retried with backoff and gave up"


class RequestTimeoutError(TransportError):
    category = "timeout"
    reason = "no answer in time"


class ConnectionRefused(TransportError):
    """Nothing accepted the connection: the request provably never reached a server."""

    category = "connection_refused"
    reason = "connection refused"
    hint_template = ("nothing accepts connections there: check the host and port of the API URL ({api_url}) and "
                     "that the service is up; retried with backoff and gave up")


class NameNotResolved(TransportError):
    category = "name_not_resolved"
    reason = "host name does not resolve"
    hint_template = ("check the host name of the API URL ({api_url}) for a typo, and your DNS or network; retried "
                     "with backoff and gave up")


class ConnectionDropped(TransportError):
    """The connection was reset or closed before a whole answer came: the request may have arrived."""

    category = "connection_dropped"
    reason = "connection dropped"
    hint = ("the connection closed before an answer (a proxy, a load balancer or an outage in between?); retried "
            "with backoff and gave up: try again")


class TLSHandshakeFailed(TransportError):
    category = "tls_failed"
    reason = "TLS handshake failed (certificate not trusted?)"
    hint_template = ("check the API URL ({api_url}) is the HTTPS address of the API; a company CA can be trusted "
                     "with REQUESTS_CA_BUNDLE=/path/to/ca-bundle.pem")


class ProxyFailed(TransportError):
    category = "proxy_failed"
    reason = "the proxy refused or failed the connection"
    hint = "check the proxy settings (HTTPS_PROXY, NO_PROXY) and that the proxy is up"


class InvalidHeaderValue(TransportError):
    """The HTTP library refused a header value before sending anything."""

    category = "invalid_header"
    reason = "a header value is invalid (a key or credential with a line break or control character?)"
    hint = "copy the key or credential again (e.g. `printf %s KEY`, not `echo`), without line breaks or escape codes"


# --------------------------------------------------------------------------- invalid input, unreadable records
@dataclass(frozen=True)
class Problem:
    """One broken rule: where, which rule, and what to do."""

    path: str
    message: str
    rule: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConnectorValidationError(SGBitbucketError, ValueError):
    """Invalid input. Its text lists every problem; it never contains an input value that is secret."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class IdentifierError(ConnectorValidationError):
    """An org name, connector Id, slug or key that cannot be a URL path segment; refused before any request."""

    def __init__(self, path: str, message: str, *, rule: str = "identifier_format") -> None:
        self.path = path
        super().__init__([Problem(path, message, rule)])


class ProblemsError(SGBitbucketError):
    """Several problems, each printed on its own line as `path: message`; nothing was sent."""

    def __init__(self, problems: Iterable[Problem], summary: str = "") -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(summary or f"{len(self.problems)} problem(s)")


class DefinitionsError(ProblemsError):
    """The definitions file is invalid; ``problems`` lists every one of them."""


class OddRecordError(SGBitbucketError):
    """A StackGuardian record this tool cannot read (a field of the wrong type or out of range)."""

    hint = ("fix the connector in StackGuardian (or re-create it with this tool); the other connectors are not "
            "affected")

    def __init__(self, connector_id: str, problems: Iterable[Problem], *, kind: str = "",
                 partial: ObservedConnector | None = None) -> None:
        self.connector_id = connector_id
        self.problems: list[Problem] = list(problems)
        self.kind = kind
        # What could be read (an ObservedConnector with each odd field left empty), for a front that
        # reports the record as drift and re-asserts its declaration instead of failing (see Engine).
        self.partial = partial
        super().__init__(f"connector {connector_id or '(no Id)'}: unreadable record: {'; '.join(self.findings)}")

    @property
    def findings(self) -> list[str]:
        """Each problem as reports print it: the field, then what is odd (`Tags is a string, not a list`)."""
        return [f"{p.path} {p.message}" if p.path else p.message for p in self.problems]


# --------------------------------------------------------------------------- refused writes
class PreflightFailed(SGBitbucketError):
    """Bitbucket rejected the credentials; nothing was written."""

    def __init__(self, result: PreflightResult, connector_id: str) -> None:
        self.result = result
        super().__init__(f"connector {connector_id}: credential preflight failed: {result.summary()}",
                         hint="fix the credential, or turn preflight off for this connector if you must")


class ConnectorExistsError(SGBitbucketError):
    """A create met a connector with the declared Id that is not managed here; ``hint`` is in the front's words."""

    def __init__(self, connector_id: str, org: str, *, hint: str) -> None:
        super().__init__(f"connector {connector_id} already exists in org {org} and is not managed here", hint=hint)


class ForeignOwnerError(SGBitbucketError):
    """Another front owns the connector; nothing was written."""

    def __init__(self, connector_id: str, owner: str, front: str, *, takeover: str = "",
                 hint: str | None = None, tag: str = "sg-bitbucket-iac/owner") -> None:
        """``takeover``: how ``front`` takes it over (the hint offers it); ``hint``: the whole hint instead,
        for a command that may not take it over (``migrate``: the owner's code changes it); ``tag``: the
        ContextTag that names the owner (a CLI set's tag for a connector of another set)."""
        self.connector_id = connector_id
        self.owner = owner
        super().__init__(
            f"connector {connector_id} is owned by {owner} (ContextTag {tag}), not {front}; nothing was written",
            hint=hint if hint is not None else f"leave it to {owner}, or take it over with {takeover}",
        )


class NameClashError(SGBitbucketError):
    """A connector with the declared name exists under another Id; nothing was written."""

    def __init__(self, name: str, wanted_id: str, existing_id: str, org: str, *, manage_existing: str) -> None:
        self.existing_id = existing_id
        super().__init__(
            f"connector name {name!r} is already used by connector {existing_id} in org {org} "
            f"(this declaration would create {wanted_id}, a second connector with the same name); nothing was written",
            hint=f"to manage the existing one, {manage_existing}; to create a new one, choose another name",
        )


class AdoptError(SGBitbucketError):
    """`adopt` was asked for but there is no connector it can take over."""


class StalePlanError(SGBitbucketError):
    """A saved plan no longer matches the definitions or StackGuardian; nothing was written."""

    hint = "run `sg-bitbucket plan -f FILE --out PLAN.json` again, review it, and apply the new plan"


# --------------------------------------------------------------------------- inputs and the tool
class SecretReferenceError(SGBitbucketError, ValueError):
    """A `${...}` reference that cannot be resolved. Its text names the reference, never a value."""


class UsageError(SGBitbucketError):
    """The command line or its inputs are wrong; nothing was sent."""


class BitbucketConnectorError(SGBitbucketError):
    """What the Pulumi provider raises: a person-readable text that never contains a secret."""


class DemoFailed(SGBitbucketError):
    """A step of `sg-bitbucket demo` did not end as expected."""


class MissingExtraError(SGBitbucketError):
    """An optional dependency group is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"the {extra} front needs the optional dependency {module!r}, which is not installed",
            hint=f"pip install 'sg-bitbucket-iac[{extra}]'",
        )
