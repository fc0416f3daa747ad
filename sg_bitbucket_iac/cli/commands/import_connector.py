"""`sg-bitbucket import ID [--to-yaml]`: a YAML definition of an existing connector, to put under management.

StackGuardian never returns secrets, so the secret becomes an ``${env:...}`` reference to fill in;
fields StackGuardian does not show (a masked username, the workspace when no ContextTag names it)
are left out and listed as TODO comments, so that `validate` points at exactly what is missing.
An entry for a connector not yet managed here carries ``adopt: true``: the first apply takes it
over (preflight, the credential re-sent, ContextTags marked) instead of refusing it as foreign.
Nothing is written to StackGuardian.

The output is pasted into a definitions file, and a name or description set in the UI can hold
anything, so it must declare exactly the one connector it describes: values go through a YAML
emitter that quotes every string a YAML 1.1 or 1.2 reader could take for something else, and
writes any string holding a line break, a tab or another control or format character double-quoted
with escapes (``"a\\nb"``, ``"\\e[31m"``, ``"\\u202E"``); comment lines have their line breaks escaped.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ...engine import AppliedSnapshot
from ...errors import UsageError
from ...field_rules import refused_characters
from ...identifiers import Identifier
from ...model import AuthType, Connector
from ...redact import escape_control
from ...wire import ObservedConnector
from ..exit_codes import EXIT_OK
from .common import Context

# What to add when StackGuardian cannot tell a credential field (the secret is a reference anyway).
_MISSING = {
    "username": "add `auth.username` (your Bitbucket username); StackGuardian masks it",
    "email": "add `auth.email` (the Atlassian account email)",
    "scope": "check `auth.scope` (repository | project | workspace) and add `repository:`/`project:`",
}


# PyYAML quotes what YAML 1.1 would read as another type or as syntax; these are what another reader
# (YAML 1.2, or 1.1's `y`/`n`) could still take for a number, a boolean or null: always quoted.
_LOOKS_TYPED = re.compile(r"[-+]?\.?[0-9]|[-+]?\.(inf|nan)$", re.IGNORECASE)
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"})


class _ExactDumper(yaml.SafeDumper):
    """PyYAML's emitter, told to escape in double quotes every character that is not printable."""

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        unicode_allowed = self.allow_unicode
        # PyYAML writes format characters (bidi overrides) raw when unicode is allowed: not here.
        self.allow_unicode = unicode_allowed and text.isprintable()
        try:
            super().write_double_quoted(text, split)
        finally:
            self.allow_unicode = unicode_allowed


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if not value.isprintable():  # line breaks, tabs, control and format characters: escaped
        style: str | None = '"'
    elif _LOOKS_TYPED.match(value) or value.lower() in _YAML_WORDS:
        style = "'"
    else:
        style = None  # PyYAML's own analysis quotes whatever YAML syntax needs
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExactDumper.add_representer(str, _represent_text)


def yaml_text(data: Any) -> str:
    """``data`` as YAML that loads back to exactly ``data`` (see the module's docstring)."""
    return yaml.dump(data, Dumper=_ExactDumper, sort_keys=False, allow_unicode=True, width=1000)


def comment(text: str) -> str:
    """One YAML comment line: a line break in ``text`` cannot end it and start a declaration."""
    return f"# {escape_control(text, keep='')}\n"


def secret_env_name(observed: ObservedConnector, auth_type: AuthType) -> str:
    return "BB_" + re.sub(r"[^A-Z0-9]", "_", observed.id.upper()) + "_" + auth_type.secret_field.upper()


def definition_of(observed: ObservedConnector) -> tuple[dict[str, Any], list[str]]:
    """(the connector's YAML entry, TODO notes for what StackGuardian cannot tell)."""
    todos: list[str] = []
    for what, values in (("the name holds", [observed.name]), ("the description holds", [observed.description]),
                         ("the tags hold", list(observed.tags))):
        found = sorted({c for v in values for c in refused_characters(v, multiline="description" in what)})
        if found:
            todos.append(f"{what} control characters ({', '.join(found)}), which definitions refuse: remove them "
                         "here, and apply to clean them in StackGuardian")
    applied = AppliedSnapshot.from_tags(observed.context_tags)
    entry: dict[str, Any] = {"name": observed.name, "id": observed.id}
    if observed.description:
        entry["description"] = observed.description
    if observed.tags:
        entry["tags"] = list(observed.tags)
    workspace = observed.workspace or (applied.workspace if applied else None)
    if workspace:
        entry["workspace"] = workspace
    else:
        todos.append("add `workspace:` (the Bitbucket workspace slug); StackGuardian does not record it")
    if not observed.managed:
        entry["adopt"] = True
        owner = observed.owner
        if owner is not None:
            todos.append(f"it is owned by {owner.value} now; `adopt: true` moves it to the CLI on the next apply "
                         f"({owner.value} will then refuse to write to it)")
    auth_type = observed.auth_type
    if auth_type is None:
        todos.append("add an `auth:` block; the connector has no recognisable Bitbucket credential")
        return entry, todos
    auth: dict[str, Any] = {"type": auth_type.value}
    shown = observed.shown_credential()
    for name in auth_type.credential_fields:
        value = shown.get(name) or (getattr(applied, name, None) if applied and applied.auth_type is auth_type
                                    else None)
        if value:
            auth[name] = value
    todos += [_MISSING[name] for name in auth_type.credential_fields if name in _MISSING and name not in auth]
    variable = secret_env_name(observed, auth_type)
    auth[auth_type.secret_field] = "${env:" + variable + "}"
    todos.append(f"export {variable} with the secret (or use ${{file:...}}, ${{aws-sm:...}}, ${{aws-ssm:...}})")
    if auth_type is AuthType.APP_PASSWORD:
        todos.append("this is an app password: migrate it first (`sg-bitbucket migrate --connector "
                     f"{observed.id} --to api_token ...`) and import it again")
    entry["auth"] = auth
    return entry, todos


def entry_of(connector: Connector, secret_reference: str) -> dict[str, Any]:
    """A definitions entry for a declared connector, with the secret as a reference (never its value)."""
    entry: dict[str, Any] = {"name": connector.name, "id": connector.connector_id}
    if connector.description:
        entry["description"] = connector.description
    if connector.tags:
        entry["tags"] = list(connector.tags)
    entry["workspace"] = connector.workspace
    auth: dict[str, Any] = {"type": connector.auth_type.value}
    for name in connector.auth_type.credential_fields:
        value = getattr(connector.auth, name, None)
        if name == connector.auth_type.secret_field:
            auth[name] = secret_reference
        elif value is not None:
            auth[name] = value
    entry["auth"] = auth
    return entry


def as_list_item(entry: dict[str, Any]) -> str:
    """The entry as a YAML list item indented for `connectors:`, to paste into a file as it stands."""
    return "".join(f"  {line}\n" for line in yaml_text([entry]).split("\n") if line)


def run(ctx: Context) -> int:
    Identifier.CONNECTOR_ID.check(ctx.args.connector_id, "ID")
    engine = ctx.engine(mark_managed=False)
    observed = engine.read(ctx.args.connector_id)
    if observed is None or not observed.is_bitbucket:
        raise UsageError(f"no Bitbucket connector {ctx.args.connector_id!r} in org {engine.org}",
                         hint="`sg-bitbucket audit` lists them")
    entry, todos = definition_of(observed)
    if ctx.json:
        ctx.out.json({"org": engine.org, "connector": entry, "todo": todos})
        return EXIT_OK
    document = yaml_text({"org": engine.org, "connectors": [entry]})
    comments = "".join(comment(f"TODO: {todo}") for todo in todos)
    if ctx.args.to_yaml:
        ctx.out.markdown(comment(f"sg-bitbucket import {observed.id} ({ctx.now().date()})") + comments + document)
        return EXIT_OK
    owner = observed.owner
    # Every line but the entry is a comment, so the whole output pastes under `connectors:` as it stands.
    ctx.out.markdown(
        comment(f"Connector {observed.id} ({observed.name}) in org {engine.org}: "
                f"{observed.auth_type.value if observed.auth_type else 'unknown auth type'}, "
                f"{'owned by ' + owner.value if owner else 'owned by no front yet'}.")
        + comment("Paste this under `connectors:` in your definitions file (or rerun with --to-yaml > file.yaml):")
        + comments + as_list_item(entry)
    )
    return EXIT_OK
