"""Declarative connector definitions (YAML): a strict schema, secret references, every problem at once.

The file is validated whole before anything is sent anywhere: YAML syntax (with line and column),
unknown keys (with the path and a "did you mean"), duplicate keys, names and Ids, types, secret
references, plaintext secrets, and the app-password timeline. Connector-level rules are the
model's (:func:`~sg_bitbucket_iac.model.parse_connector`) and the engine's
(:func:`~sg_bitbucket_iac.engine.check_policy`); this module owns only the file around them and
the CLI's own per-connector keys (``preflight``, ``adopt``).

Shape::

    org: acme                 # optional; --org or SG_ORG otherwise
    set: platform             # the set of connectors this file manages (default: `default`)
    prune: false              # delete this set's connectors missing from the file (apply); needs `set:`
    connectors:
      - name: bitbucket-main
        workspace: acme
        preflight: true       # CLI key: check the credential against Bitbucket before sending it
        adopt: false          # CLI key: take over an existing connector not yet managed here
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: ${env:BB_TOKEN}}

Secrets must be references (``${env:NAME}``, ``${file:PATH}`` relative to the file and inside its
folder tree unless ``--allow-secret-files-outside DIR``, ``${aws-sm:ID[#KEY]}``, ``${aws-ssm:/PARAM}``)
unless plaintext is explicitly allowed; problem texts name the reference, never a value.

Reading the file (size cap, alias bombs, syntax errors, the line of each path, duplicate keys) is
:mod:`.yaml_source`'s; this module gives the parsed values their meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..engine import check_policy
from ..errors import DefinitionsError
from ..identifiers import Identifier
from ..model import (
    SECRET_FIELDS,
    AuthType,
    Connector,
    ConnectorValidationError,
    Problem,
    parse_connector,
)
from ..problems import did_you_mean, join_path, unknown_key_message
from ..secrets import Secret, SecretReference, SecretReferenceError
from ..tags import DEFAULT_SET, SET_NAME_PATTERN, is_set_name
from .yaml_source import YamlDocument, read_yaml

TOP_LEVEL_KEYS = ("org", "set", "prune", "connectors")
CLI_CONNECTOR_KEYS = ("preflight", "adopt")
CONNECTOR_KEYS = (*Connector.model_fields, *CLI_CONNECTOR_KEYS)
MIGRATION_KEYS = ("to", "workspace", "username", "email", "scope", "repository", "project", "secret")
REFERENCE_FORMS = "${env:NAME}, ${file:PATH}, ${aws-sm:SECRET_ID[#JSON_KEY]} or ${aws-ssm:/PARAM}"
# Stands in for a secret that could not be read, so the rest of the entry is still checked.
# Never sent: any problem stops the command before a request is made.
_UNRESOLVED = Secret("unresolved-secret-placeholder")


@dataclass(frozen=True)
class Declared:
    """One connector entry: the validated connector and the CLI's per-entry switches."""

    path: str  # "connectors[2]", for messages
    connector: Connector
    preflight: bool = True
    adopt: bool = False

    @property
    def connector_id(self) -> str:
        return self.connector.connector_id


@dataclass(frozen=True)
class Definitions:
    source: Path
    org: str | None
    prune: bool
    connectors: tuple[Declared, ...]
    set_name: str | None = None  # the file's `set:`; None when it names none

    @property
    def cli_set(self) -> str:
        """The set this file manages: prune, "managed, not declared" and the set tag are its."""
        return self.set_name or DEFAULT_SET

    def select(self, names: Sequence[str]) -> Definitions:
        """Only the named connectors (by name or Id); an unknown name is an error."""
        if not names:
            return self
        known = {d.connector.name for d in self.connectors} | {d.connector_id for d in self.connectors}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise DefinitionsError([
                Problem(name, f"no connector with this name or Id in {self.source.name}{did_you_mean(name, known)}")
                for name in unknown
            ])
        wanted = set(names)
        kept = tuple(d for d in self.connectors if d.connector.name in wanted or d.connector_id in wanted)
        return Definitions(self.source, self.org, self.prune, kept, self.set_name)


@dataclass(frozen=True)
class MigrationTarget:
    """One entry of a `migrate --all-app-passwords --mapping FILE` file: where a connector moves to."""

    path: str
    connector_id: str
    to: AuthType
    workspace: Any
    fields: dict[str, Any]
    secret: Secret


# --------------------------------------------------------------------------- secrets
class _SecretResolver:
    """Resolves `${...}` references once each (several connectors may share one) and refuses plaintext."""

    def __init__(
        self,
        base_dir: Path,
        allow_plaintext: bool,
        document: YamlDocument,
        environ: Mapping[str, str] | None,
        allowed_dirs: Sequence[Path] = (),
    ) -> None:
        self.base_dir = base_dir
        self.allowed_dirs = tuple(allowed_dirs)
        self.environ = environ
        self.allow_plaintext = allow_plaintext
        self.document = document
        self._resolved: dict[str, Secret | SecretReferenceError] = {}

    def __call__(self, value: str, where: str) -> Secret | str:
        if not value.strip():
            return value  # the model says "is empty"
        reference = SecretReference.parse(value)
        if reference is None:
            if value.strip().startswith("${"):
                self.document.problem(where, f"not a valid secret reference; use {REFERENCE_FORMS}", "reference")
                return _UNRESOLVED
            if not self.allow_plaintext:
                self.document.problem(
                    where,
                    f"plaintext secret refused: reference it instead ({REFERENCE_FORMS}), "
                    "or pass --allow-plaintext-secrets",
                    "plaintext_secret",
                )
                return _UNRESOLVED
            return Secret(value)
        if reference.text not in self._resolved:
            try:
                self._resolved[reference.text] = reference.resolve(self.base_dir, self.environ,
                                                                 allowed_dirs=self.allowed_dirs)
            except SecretReferenceError as error:
                self._resolved[reference.text] = error
        outcome = self._resolved[reference.text]
        if isinstance(outcome, SecretReferenceError):
            self.document.problem(where, f"cannot resolve {outcome}", "unresolved_reference")
            return _UNRESOLVED
        return outcome


def _resolve_auth_secrets(auth: dict[str, Any], path: str, resolve: _SecretResolver) -> None:
    """Replace the auth's secret field by its resolved value, in place."""
    declared = auth.get("type")
    wanted: str | None = None
    if isinstance(declared, str) and declared in {t.value for t in AuthType}:
        wanted = AuthType(declared).secret_field
    for key in sorted(SECRET_FIELDS & set(auth)):
        value = auth[key]
        # A secret field of another auth type is the model's error to report; not resolved needlessly.
        if (wanted is None or key == wanted) and isinstance(value, str):
            auth[key] = resolve(value, f"{path}.auth.{key}")


# --------------------------------------------------------------------------- the definitions file
def prune_refusal(set_name: str | None) -> str | None:
    """Why this file may not prune (None: it may).

    A file without `set:` is in the set `default`, with every other file that names none and every
    connector the CLI tagged before sets existed: its prune would delete their connectors.
    """
    if set_name is not None and set_name != DEFAULT_SET:
        return None
    which = "names no `set:`, so it is" if set_name is None else "names"
    return (f"pruning needs a set of the file's own; this file {which} in set `{DEFAULT_SET}`, with every file "
            "without `set:` and every connector applied before sets existed, and a prune would delete connectors "
            "that other files applied. Add `set: NAME` (a name no other file uses) at the top of the file, and "
            "`adopt: true` on the entries already applied, once, to move them into it")


def _check_set(document: YamlDocument, data: Mapping[str, Any]) -> str | None:
    value = data.get("set")
    if value is None:
        return None
    if not isinstance(value, str) or not is_set_name(value):
        document.problem("set", f"must be a set name ({SET_NAME_PATTERN}: a letter or digit, then up to 63 letters, "
                         "digits, `_`, `.` or `-`), such as `platform`", "pattern")
        return None
    return value


def _check_bool(document: YamlDocument, container: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = container.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        document.problem(join_path(path, [key]), "must be true or false", "type")
        return default
    return value


def _connector_entry(
    item: Any, path: str, document: YamlDocument, resolve: _SecretResolver, at: datetime | None
) -> Declared | None:
    if not isinstance(item, Mapping):
        document.problem(path, "a connector is a mapping of fields (name, workspace, auth, ...)", "type")
        return None
    entry: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(key, str) and key in CONNECTOR_KEYS:
            entry[key] = value
        else:
            document.problem(join_path(path, [str(key)]), unknown_key_message(str(key), CONNECTOR_KEYS),
                             "unknown_key")
    preflight = _check_bool(document, entry, "preflight", path, True)
    adopt = _check_bool(document, entry, "adopt", path, False)
    for key in CLI_CONNECTOR_KEYS:
        entry.pop(key, None)
    if isinstance(entry.get("auth"), Mapping):
        entry["auth"] = dict(entry["auth"])
        _resolve_auth_secrets(entry["auth"], path, resolve)
    try:
        connector = parse_connector(entry, prefix=path)
    except ConnectorValidationError as error:
        document.problems.extend(error.problems)
        return None
    if at is not None:
        document.problems.extend(check_policy(connector, at=at, path=path).problems)
    return Declared(path, connector, preflight=preflight, adopt=adopt)


def _check_unique(declared: Iterable[Declared], document: YamlDocument) -> None:
    names: dict[str, str] = {}
    ids: dict[str, str] = {}
    for entry in declared:
        name, connector_id = entry.connector.name, entry.connector_id
        if name in names:
            document.problem(f"{entry.path}.name",
                             f"duplicate name {name!r} (also {names[name]}); each connector needs its own",
                             "duplicate")
        elif connector_id in ids:
            if entry.connector.id:
                document.problem(f"{entry.path}.id", f"duplicate Id {connector_id!r} (also {ids[connector_id]})",
                                 "duplicate")
            else:
                document.problem(f"{entry.path}.name",
                                 f"derives the Id {connector_id!r} already used by {ids[connector_id]}; "
                                 "set a distinct `id`", "duplicate")
        names.setdefault(name, entry.path)
        ids.setdefault(connector_id, entry.path)


def load_definitions(
    source: Path,
    *,
    allow_plaintext_secrets: bool = False,
    at: datetime | None = None,
    environ: Mapping[str, str] | None = None,
    allow_secret_files_outside: Sequence[Path] = (),
) -> Definitions:
    """Load and validate a definitions file; raise :class:`DefinitionsError` listing every problem.

    ``at`` is the product clock for the app-password timeline (None skips it, e.g. for drift, which
    reports such connectors instead of refusing the file).
    """
    document = read_yaml(source)
    data = document.data
    if data is None:
        raise DefinitionsError([Problem(str(source), "the file is empty; expected a mapping with `connectors:`")])
    if not isinstance(data, Mapping):
        raise DefinitionsError([document.located(Problem(
            "", "the file must be a mapping with `connectors:` (and optionally `org:`, `set:` and `prune:`)",
            "type"))])
    for key in data:
        if not isinstance(key, str) or key not in TOP_LEVEL_KEYS:
            document.problem(join_path("", [str(key)]), unknown_key_message(str(key), TOP_LEVEL_KEYS), "unknown_key")
    org = data.get("org")
    if org is not None and (not isinstance(org, str) or not org.strip()):
        document.problem("org", "must be the StackGuardian org name (a non-empty string)", "type")
        org = None
    elif isinstance(org, str) and (refused := Identifier.ORG.message(org.strip())) is not None:
        document.problem("org", refused, "org_format")  # it goes into every request's path
        org = None
    set_name = _check_set(document, data)
    prune = _check_bool(document, data, "prune", "", False)
    set_invalid = data.get("set") is not None and set_name is None  # already a problem of its own
    refusal = prune_refusal(set_name) if prune and not set_invalid else None
    if refusal:
        document.problem("prune", refusal, "prune_needs_set")
    items = data.get("connectors")
    declared: list[Declared] = []
    if "connectors" not in data:
        document.problem("connectors", "required: a list of connectors (`connectors: []` for none)", "required")
    elif not isinstance(items, list):
        document.problem("connectors", "must be a list of connectors (`connectors: []` for none)", "type")
    else:
        resolve = _SecretResolver(source.resolve().parent, allow_plaintext_secrets, document, environ,
                                  allow_secret_files_outside)
        for index, item in enumerate(items):
            entry = _connector_entry(item, f"connectors[{index}]", document, resolve, at)
            if entry is not None:
                declared.append(entry)
        _check_unique(declared, document)
    if document.problems:
        raise DefinitionsError([document.located(p) for p in document.problems],
                               f"{source.name}: {len(document.problems)} problem(s); nothing was sent")
    return Definitions(source, org.strip() if isinstance(org, str) else None, prune, tuple(declared), set_name)


# --------------------------------------------------------------------------- migration mapping
def load_migration_mapping(
    source: Path,
    *,
    allow_plaintext_secrets: bool = False,
    environ: Mapping[str, str] | None = None,
    allow_secret_files_outside: Sequence[Path] = (),
) -> list[MigrationTarget]:
    """Where each app-password connector moves (`migrate --all-app-passwords --mapping FILE`).

    Shape: ``connectors: {<connector Id>: {to, workspace, username, email | scope, repository,
    project, secret: ${...}}}``. Field rules are the model's and are checked when the connector is
    built; here only the file's shape and the secrets.
    """
    document = read_yaml(source)
    data = document.data
    if not isinstance(data, Mapping) or not isinstance(data.get("connectors"), Mapping):
        raise DefinitionsError([document.located(Problem(
            "connectors", "the mapping file needs `connectors:` mapping each connector Id to its new credential",
            "type"))])
    for key in data:
        if key != "connectors":
            document.problem(join_path("", [str(key)]), unknown_key_message(str(key), ["connectors"]), "unknown_key")
    resolve = _SecretResolver(source.resolve().parent, allow_plaintext_secrets, document, environ,
                              allow_secret_files_outside)
    targets: list[MigrationTarget] = []
    for connector_id, entry in data["connectors"].items():
        path = join_path("connectors", [str(connector_id)])
        if (refused := Identifier.CONNECTOR_ID.message(connector_id)) is not None:
            document.problem(path, refused, "id_format")
            continue
        if not isinstance(entry, Mapping):
            document.problem(path, "must be a mapping: to, workspace, and the new credential's fields", "type")
            continue
        for key in entry:
            if key not in MIGRATION_KEYS:
                document.problem(join_path(path, [str(key)]), unknown_key_message(str(key), MIGRATION_KEYS),
                                 "unknown_key")
        to = entry.get("to")
        if not isinstance(to, str) or to not in (AuthType.API_TOKEN.value, AuthType.ACCESS_TOKEN.value):
            document.problem(join_path(path, ["to"]), "required: api_token or access_token", "required")
            continue
        secret = entry.get("secret")
        if not isinstance(secret, str):
            document.problem(join_path(path, ["secret"]), f"required: a secret reference ({REFERENCE_FORMS})",
                             "required")
            continue
        resolved = resolve(secret, join_path(path, ["secret"]))
        fields = {k: v for k, v in entry.items() if k not in ("to", "workspace", "secret")}
        targets.append(MigrationTarget(path, str(connector_id), AuthType(to), entry.get("workspace"), fields,
                                       resolved if isinstance(resolved, Secret) else Secret(resolved)))
    if document.problems:
        raise DefinitionsError([document.located(p) for p in document.problems],
                               f"{source.name}: {len(document.problems)} problem(s); nothing was sent")
    return targets
