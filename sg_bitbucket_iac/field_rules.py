"""What a valid declared value looks like: Ids, names, slugs, usernames and secrets, field by field.

The connector and its auth types (:mod:`sg_bitbucket_iac.model`) apply these checks from their
validators. A failed check is a pydantic error whose text is final: it names the rule and the fix,
in the asking front's field names (:func:`field_name`), and never quotes a secret.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError

from .identifiers import Identifier
from .redact import control_characters, shorten
from .secrets import Secret

MASKED_VALUES = frozenset({"********", "****", "*****", "***"})
# Ids: what we derive from a name is stricter than what StackGuardian can hold. The documented
# rule (`^[a-zA-Z0-9_]+$`, under 100 characters) is met by every Id we derive; the API also holds
# Ids with hyphens (its live tests use them, and older connectors whose Id is their ResourceName),
# so a declared or imported Id may have them (Identifier.CONNECTOR_ID, the rule for every Id in a URL).
DERIVED_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 99
MAX_DESCRIPTION = 255
MAX_TAGS = 10
# The format characters a description keeps: the zero-width non-joiner and joiner (emoji sequences, Persian,
# the Indic scripts) and the tag characters of subdivision flag emoji. Every other one (bidi controls of
# "Trojan Source", zero-width spaces, BOMs) is refused.
_TEXT_JOINERS = frozenset("\u200c\u200d")
_EMOJI_TAGS = ("\U000e0020", "\U000e007f")


def derive_id(name: str) -> str:
    """StackGuardian Id from a ResourceName: every character outside [A-Za-z0-9_] becomes `_`.

    A name that derives a word the API routes elsewhere (`listall`) gets a `_` appended.
    """
    derived = re.sub(r"[^A-Za-z0-9_]", "_", name.strip())[:MAX_NAME] or "connector"
    return derived + "_" if derived in Identifier.CONNECTOR_ID.rule.reserved else derived


def is_held_id(value: str) -> bool:
    """Whether StackGuardian can hold this Id (accepted in `id:` and from the API) and it can be a URL segment."""
    return Identifier.CONNECTOR_ID.is_valid(value)


def custom_error(kind: str, message: str, **values: Any) -> PydanticCustomError:
    """A pydantic error whose text is final: values are substituted here quoted and shortened. Without a
    context pydantic leaves the template as it is, so a brace in a value stays one brace."""
    text = message.format(**{k: shorten(str(v)) for k, v in values.items()}) if values else message
    return PydanticCustomError(kind, text)


def field_name(info: ValidationInfo, field: str) -> str:
    """A field as the front that asked names it (``parse_connector(names=...)``; YAML's words by default)."""
    names = (info.context or {}).get("names") or {}
    return str(names.get(field, field))


def check_secret(value: Secret, label: str) -> Secret:
    """Surrounding whitespace (`file("token.txt")`, CI secret stores) is dropped; anything else odd is refused."""
    raw = value.reveal()
    stripped = raw.strip()
    if stripped != raw:
        value, raw = Secret(stripped), stripped
    if not raw:
        raise custom_error("secret_empty", f"the {label} is empty; paste the whole value")
    # Tabs and line breaks get the whitespace message below; any other control character is refused here.
    bad = [name for name in control_characters(raw) if name not in ("U+0009", "U+000A", "U+000D")]
    if bad:
        raise custom_error(
            "secret_control_characters",
            f"the {label} contains control characters ({', '.join(bad)}); no Bitbucket credential has them: "
            "copy it again",
        )
    if raw.split() != [raw]:  # inner whitespace (str.split is C-speed over long tokens)
        raise custom_error(
            "secret_whitespace",
            f"the {label} contains whitespace; copy it again without spaces or line breaks",
        )
    if raw.strip("*") == "" or raw in MASKED_VALUES:
        raise custom_error(
            "secret_masked",
            f"the {label} is a mask (****), not the real value; StackGuardian never returns secrets, "
            "so supply the value itself",
        )
    return value


def check_username(value: str, info: ValidationInfo, auth_label: str) -> str:
    value = value.strip()
    if not value:
        raise custom_error("username_empty", "give your Bitbucket username (bitbucket.org/account/settings)")
    if "@" in value:
        raise custom_error(
            "username_is_email",
            f"this is your Bitbucket username, not an email ({auth_label}); find it at "
            "bitbucket.org/account/settings" + (f"; put the email in the {field_name(info, 'email')} field"
                                                 if auth_label == "api_token"
                                                 else "; app passwords do not work with an email"),
        )
    if ":" in value or any(ch.isspace() for ch in value):
        raise custom_error("username_format", "a Bitbucket username has no ':' or spaces")
    return value


def check_email(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    if "@" not in value:
        raise custom_error(
            "email_missing_at",
            "API tokens authenticate with your Atlassian account email; {value} has no @ "
            f"(the Bitbucket username goes in the {field_name(info, 'username')} field)",
            value=value,
        )
    if not EMAIL_RE.match(value):
        raise custom_error("email_format", "{value} is not an email address like alice@example.com", value=value)
    return value


def check_repository(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    if "/" in value:
        raise custom_error(
            "repository_has_workspace",
            "give the repository slug only (e.g. 'infra'), not 'workspace/infra'; the workspace goes in "
            f"`{field_name(info, 'workspace')}`",
        )
    _check_identifier(Identifier.REPOSITORY, value, "repository_format")
    return value


def check_project_key(value: str) -> str:
    value = value.strip()
    _check_identifier(Identifier.PROJECT_KEY, value, "project_key_format")
    return value


def _check_identifier(kind: Identifier, value: str, error_kind: str) -> None:
    """The identifier's own rule (a URL path segment), its message as the field's error."""
    message = kind.message(value)
    if message is not None:
        raise custom_error(error_kind, message)


def refused_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The characters a name, tag (or, with ``multiline``, a description) may not hold, as `U+001B`, ....

    Names and tags are one-line labels shown in terminals, plans and pull-request comments: no control
    character (ESC, BEL, NUL, ...), no format character (bidi overrides, zero-width ones) and no line
    or paragraph separator. A description may span lines and hold tabs, and keeps the joiners that emoji
    and some scripts need, but no other control or format character and no odd line separator.
    """
    if value.isprintable():  # C-speed: nothing of the kinds below at all
        return []

    def refused(ch: str) -> bool:
        category = unicodedata.category(ch)
        if category == "Cc":
            return not (multiline and ch in "\t\n")
        if category == "Cf":
            return not (multiline and (ch in _TEXT_JOINERS or _EMOJI_TAGS[0] <= ch <= _EMOJI_TAGS[1]))
        return category in ("Zl", "Zp")

    return [f"U+{ord(ch):04X}" for ch in sorted({ch for ch in value if refused(ch)})]


def check_text(value: str, what: str, *, multiline: bool = False) -> str:
    """Refuse control characters in ``what`` (naming them, never echoing the value): they are never written."""
    found = refused_characters(value, multiline=multiline)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise custom_error(
            "control_characters",
            f"{what} contains control characters ({shown}); they can hide or fake text in terminals, plans and "
            "reviews, so StackGuardian never gets them: remove them",
        )
    return value


def check_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise custom_error("name_empty", "give the connector a name (its StackGuardian ResourceName)")
    if len(value) > MAX_NAME:
        raise custom_error("name_too_long", f"a connector name has at most {MAX_NAME} characters; shorten it")
    return check_text(value, "the name")


def check_id(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    reason = Identifier.CONNECTOR_ID.why_refused(value)
    if reason is not None:
        raise custom_error(
            "id_format",
            f"{shorten(value)} is not a StackGuardian Id: {reason}; an Id uses only letters, digits, '_' and '-' "
            f"(at most 99); e.g. {derive_id(value)!r}, or leave `{field_name(info, 'id')}` out to derive it from "
            "the name",
        )
    return value


def check_description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        raise custom_error(
            "description_too_long",
            f"StackGuardian keeps descriptions under 256 characters; this one has {len(value)}; shorten it",
        )
    return check_text(value, "the description", multiline=True)


def check_tags_list(value: Any, info: ValidationInfo) -> Any:
    """A lone string is not a list of tags (it would be split into letters)."""
    if isinstance(value, str):
        raise custom_error("tags_not_list", f"{field_name(info, 'tags')} is a list of strings, e.g. [platform, prod]")
    return value


def check_tag(value: str) -> str:
    """One tag (the list's own rules are :func:`check_tags`')."""
    value = value.strip()
    if not value:
        raise custom_error("tag_empty", "tags cannot be empty strings; remove the empty entry")
    return check_text(value, "a tag")


def check_tags(value: tuple[str, ...]) -> tuple[str, ...]:
    """The list of tags, each already checked and stripped by :func:`check_tag`."""
    if len(value) > MAX_TAGS:
        raise custom_error("too_many_tags", f"StackGuardian allows at most {MAX_TAGS} tags; this has {len(value)}")
    if len(set(value)) != len(value):
        raise custom_error("tag_duplicate", "each tag may appear once; remove the duplicates")
    return value


def check_workspace(value: str) -> str:
    value = value.strip()
    reason = Identifier.WORKSPACE.why_refused(value)
    if reason is not None:
        raise custom_error(
            "workspace_format",
            "give the Bitbucket workspace slug as in bitbucket.org/<slug> (lowercase letters, digits, "
            f"'-', '_', '.'); {shorten(value)} is not one: {reason}",
        )
    return value
