"""Pydantic's validation errors as :class:`~sg_bitbucket_iac.errors.Problem`\\ s a person can act on.

Each problem names the field path (``connectors[0].auth.email``), the rule and the fix, in the
field names of the front that asked (``names``: backend field -> the front's name). It never
echoes an input value: a key the user typed may carry a secret (``{api_token:SECRET}`` without the
space YAML needs), so such a key is shown cut short; a value a rule quotes (an unknown auth type,
an email without @) is shown by :func:`~sg_bitbucket_iac.redact.shorten`, never in full.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Problem
from .redact import shorten

# A key holding a separator or a space, or longer than any real key, may be `key:value` typed without
# the space YAML needs after the colon (`{api_token:SECRET}` in a flow mapping): it is shown cut short.
_KEY_SEPARATORS = re.compile(r"[:=\s]")
_MAX_SHOWN_KEY = 32
_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
}


@dataclass(frozen=True)
class Shape:
    """What the errors are about: the connector's top-level fields and each auth type's model (by its tag)."""

    top_fields: Sequence[str]
    auth_models: Mapping[str, type[BaseModel]]  # the recommended one first
    # Rules checked across fields (model validators) that still point at the field the user must change.
    rule_fields: Mapping[str, str]

    @property
    def auth_fields(self) -> list[str]:
        return sorted({f for model in self.auth_models.values() for f in model.model_fields})


def join_path(prefix: str, loc: Iterable[str | int]) -> str:
    """`connectors[0].auth.email`; a key that may carry a value is cut short (:func:`display_key`)."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            part = display_key(str(part))
            path = f"{path}.{part}" if path else part
    return path


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(_key_stem(word), list(candidates), n=1, cutoff=0.6)
    return f"; did you mean `{match[0]}`?" if match else ""


def _key_stem(key: str) -> str:
    return _KEY_SEPARATORS.split(key, maxsplit=1)[0]


def looks_like_key_with_value(key: str) -> bool:
    return bool(_KEY_SEPARATORS.search(key)) or len(key) > _MAX_SHOWN_KEY


def display_key(key: str) -> str:
    """An unknown key as it may be printed: in full only when it cannot be carrying a value."""
    if not key:
        return '""'
    if not looks_like_key_with_value(key):
        return key
    stem = _key_stem(key)[:_MAX_SHOWN_KEY]
    return f"{stem}…" if stem else "…"


def unknown_key_message(key: str, candidates: Iterable[str]) -> str:
    """`unknown key ...` with a "did you mean", never echoing what may be a value typed into the key."""
    shown = display_key(key)
    message = f"unknown key `{shown}`{did_you_mean(key, candidates)}"
    if shown != key:
        message += (f" (the key was cut: it has {len(key)} characters and looks like `key:value` without a space "
                    "after the colon; YAML needs `key: value`, also inside `{...}`)")
    return message


def _either(words: Iterable[str]) -> str:
    """`a, b or c`."""
    *first, last = list(words)
    return f"{', '.join(first)} or {last}" if first else last


def problems_from_validation_error(
    exc: ValidationError,
    shape: Shape,
    prefix: str = "",
    names: Mapping[str, str] | None = None,
    *,
    inside: tuple[str, ...] = (),
) -> list[Problem]:
    """One problem per error. ``inside``: the field the validated data sits in (``("auth",)`` for a
    credential validated on its own), so its problems read like a whole connector's."""
    # include_input=False: pydantic must never hand us back an input value (it may be a secret).
    return [_problem({**err, "loc": (*inside, *err.get("loc", ()))}, shape, prefix, names or {})
            for err in exc.errors(include_input=False, include_url=False)]


def _problem(err: Mapping[str, Any], shape: Shape, prefix: str, names: Mapping[str, str]) -> Problem:
    def name(field: str) -> str:
        return names.get(field, field)

    loc = list(err.get("loc", ()))
    auth_type: str | None = None
    # Discriminated unions put the tag into the location: ("auth", "api_token", "email").
    if len(loc) >= 2 and loc[0] == "auth" and loc[1] in shape.auth_models:
        auth_type = str(loc[1])
        loc = [loc[0], *loc[2:]]
    kind = str(err.get("type", "invalid"))
    path = join_path(prefix, loc)
    field_name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        if auth_type is None:
            return Problem(path, unknown_key_message(field_name, shape.top_fields), "unknown_key")
        belongs = [t for t, m in shape.auth_models.items() if field_name in m.model_fields]
        if not belongs:
            return Problem(path, unknown_key_message(field_name, shape.auth_fields), "unknown_key")
        allowed = [f for f in shape.auth_models[auth_type].model_fields if f != "type"]
        return Problem(path, (
            f"`{name(field_name)}` belongs to auth type {' / '.join(belongs)}, not {auth_type}; a connector has "
            f"one credential set, so remove it (an {auth_type} auth takes {', '.join(map(name, allowed))})"
        ), "unknown_key")
    if kind == "missing":
        if auth_type is not None:
            model_fields = shape.auth_models[auth_type].model_fields
            needed = ", ".join(name(f) for f, info in model_fields.items() if f != "type" and info.is_required())
            return Problem(path, f"required for auth type {auth_type} (it needs {needed}); add it", "required")
        if field_name == "auth":
            return Problem(path, "required: add an `auth` block with `type` and its credential fields", "required")
        return Problem(path, "required; add it", "required")
    if kind == "union_tag_not_found":
        recommended, *others = shape.auth_models
        return Problem(join_path(path, ["type"]), f"required: set `{name('type')}` to "
                       f"{_either([f'{recommended} (recommended)', *others])}", "required")
    if kind == "union_tag_invalid":
        tag = str((err.get("ctx") or {}).get("tag", ""))
        return Problem(join_path(path, ["type"]), f"unknown auth type {shorten(tag)}"
                       f"{did_you_mean(tag, shape.auth_models)} (use {_either(shape.auth_models)})", "auth_type")
    if kind == "literal_error" and field_name == "scope":
        return Problem(path, f"{name('scope')} is one of repository, project, workspace", "scope")
    if kind in _EXPECTED:
        return Problem(path, f"must be {_EXPECTED[kind]}", "type")
    if kind in shape.rule_fields:
        path = join_path(path, [shape.rule_fields[kind]])
    message = str(err.get("msg", "invalid"))
    return Problem(path, message.removeprefix("Value error, "), kind)
