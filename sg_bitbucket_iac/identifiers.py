"""What may go into a URL path: one strict rule per identifier kind, whatever the value's source.

An org name, a connector Id, a workspace slug, a repository slug or a project key becomes one
segment of a request path. A value that is ``.`` or ``..``, holds a ``/``, ``\\``, ``%``, ``?`` or
``#``, whitespace or a control character, or is empty or over-long would change *which* endpoint
a request reaches (``..`` as an org name turns a connector DELETE into ``DELETE /api/v1/orgs/``),
so every such value is refused before any request, with the field path it came from: a flag, a
YAML key, a Terraform attribute or import Id, a Pulumi input or state, a saved plan, or a record
the server returned (where it makes the record an odd one, never acted on).

The rules, and where each comes from: docs/evidence.md#identifiers-in-urls. The URL builders
(``stackguardian.py``, ``bitbucket.py``) check every segment again with these rules.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .errors import IdentifierError
from .redact import control_characters, shorten

# Characters that end or re-interpret a path segment, in the order a message names them.
_PATH_BREAKERS = ("/", "\\", "%", "?", "#")


@dataclass(frozen=True)
class IdentifierRule:
    """The rule of one identifier kind: the characters it may start with and hold, its length limit,
    and how to name and fix it in a message."""

    label: str  # "StackGuardian org name"
    first: str  # a character class: what the first character may be
    rest: str  # a character class: what every other character may be
    max_length: int
    shape: str  # what a valid value is made of, for messages
    fix: str  # where to find the right value
    reserved: frozenset[str] = frozenset()  # words the API routes elsewhere

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(f"{self.first}{self.rest}{{0,{self.max_length - 1}}}")


class Identifier(enum.Enum):
    """The identifier kinds that reach a URL path; ``Identifier.ORG.check(value, "org")``."""

    ORG = IdentifierRule(
        "StackGuardian org name", "[A-Za-z0-9]", "[A-Za-z0-9_-]", 50,
        "1 to 50 letters, digits, '-' and '_', starting with a letter or a digit",
        "use the org name as it appears in StackGuardian's URLs, …/orgs/<org>/…",
    )
    CONNECTOR_ID = IdentifierRule(
        "StackGuardian connector Id", "[A-Za-z0-9_-]", "[A-Za-z0-9_-]", 99,
        "1 to 99 letters, digits, '_' and '-'",
        "use the connector's Id as StackGuardian shows it; `sg-bitbucket audit` lists them",
        # GET /api/v1/orgs/{org}/integrations/listall/ lists the org's connectors: an Id `listall` is that route.
        reserved=frozenset({"listall"}),
    )
    WORKSPACE = IdentifierRule(
        "Bitbucket workspace slug", "[a-z0-9]", "[a-z0-9_.-]", 62,
        "1 to 62 lowercase letters, digits, '-', '_' and '.', starting with a letter or a digit",
        "use the slug as in bitbucket.org/<slug>",
    )
    REPOSITORY = IdentifierRule(
        "Bitbucket repository slug", "[A-Za-z0-9_.-]", "[A-Za-z0-9_.-]", 128,
        "1 to 128 letters, digits, '.', '-' and '_', not dots alone",
        "use the slug as in bitbucket.org/<workspace>/<slug>, without the workspace",
    )
    PROJECT_KEY = IdentifierRule(
        "Bitbucket project key", "[A-Za-z0-9_]", "[A-Za-z0-9_]", 32,
        "1 to 32 letters, digits and '_'",
        "use the short KEY shown in the Bitbucket project's settings",
    )

    @property
    def rule(self) -> IdentifierRule:
        rule: IdentifierRule = self.value
        return rule

    def why_refused(self, value: object) -> str | None:
        """Why ``value`` cannot be this kind of identifier (the first reason that applies), or None."""
        rule = self.rule
        if not isinstance(value, str):
            return f"it is {type(value).__name__}, not a string"
        if not value:
            return "it is empty"
        if len(value) > rule.max_length:  # first: a megabyte-long value is not scanned character by character
            return f"it has {len(value)} characters, more than {rule.max_length}"
        if value in (".", ".."):
            return "it is a path step ('.' or '..') that would send the request to another endpoint"
        if not value.strip("."):
            return "it is made of dots only"
        bad = control_characters(value)
        if bad:
            return f"it contains control characters ({', '.join(bad[:5])})"
        if any(ch.isspace() for ch in value):
            return "it contains whitespace"
        breakers = [ch for ch in _PATH_BREAKERS if ch in value]
        if breakers:
            return f"it contains {' and '.join(repr(ch) for ch in breakers)}, which would change the request's URL"
        if value in rule.reserved:
            return f"'{value}' is reserved: the API routes it to another endpoint"
        if rule.first != rule.rest and not re.fullmatch(rule.first, value[0]):
            return f"it starts with '{value[0]}'"
        odd = next((ch for ch in value if not re.fullmatch(rule.rest, ch)), None)
        if odd is not None:
            return f"it contains '{odd}'"
        return None

    def is_valid(self, value: object) -> bool:
        return self.why_refused(value) is None

    def message(self, value: object) -> str | None:
        """The whole refusal text (value shown safely, reason, rule, fix), or None for a valid value."""
        reason = self.why_refused(value)
        if reason is None:
            return None
        rule = self.rule
        return (f"{shorten(value)} is not a valid {rule.label}: {reason}; a {rule.label} is {rule.shape} "
                f"({rule.fix})")

    def check(self, value: object, path: str) -> str:
        """``value`` unchanged when valid; else an :class:`~sg_bitbucket_iac.errors.IdentifierError` at ``path``."""
        message = self.message(value)
        if message is not None:
            raise IdentifierError(path, message, rule=f"{self.name.lower()}_format")
        assert isinstance(value, str)
        return value


__all__ = ["Identifier", "IdentifierRule"]
