"""Declarative connector definitions (YAML): a strict schema, secret references, every problem at once.

The file is validated whole before anything is sent anywhere: YAML syntax (with line and column),
unknown keys (with the path and a "did you mean"), duplicate keys, names and Ids, types, secret
references, plaintext secrets, and the app-password timeline. Connector-level rules are the
model's (:func:`~sg_bitbucket_iac.model.parse_connector`) and the engine's
(:func:`~sg_bitbucket_iac.engine.check_policy`); this module owns only the file around them and
the CLI's own per-connector keys (``preflight``, ``adopt``).

Shape::

    org: acme                 # optional; --org or SG_ORG otherwise
    prune: false              # delete managed connectors missing from the file (apply)
    connectors:
      - name: bitbucket-main
        workspace: acme
        preflight: true       # CLI key: check the credential against Bitbucket before sending it
        adopt: false          # CLI key: take over an existing connector not yet managed here
        auth: {type: api_token, username: alice, email: alice@acme.io, api_token: ${env:BB_TOKEN}}

Secrets must be references (``${env:NAME}``, ``${file:PATH}`` relative to the file and inside its
folder tree unless ``--allow-secret-files-outside DIR``, ``${aws-sm:ID[#KEY]}``, ``${aws-ssm:/PARAM}``)
unless plaintext is explicitly allowed; problem texts name the reference, never a value.

Hostile files are refused early and in linear time: a file over :data:`MAX_FILE_BYTES`, or one whose
aliases would expand to more than :data:`MAX_EXPANDED_NODES` nodes (a "billion laughs" bomb), is an
error before anything walks the expansion; line numbers are indexed once per node, not per alias.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..engine import check_policy
from ..errors import DefinitionsError
from ..model import (
    SECRET_FIELDS,
    AuthType,
    Connector,
    ConnectorValidationError,
    Problem,
    parse_connector,
)
from ..problems import did_you_mean, display_key, join_path, unknown_key_message
from ..secrets import Secret, SecretReference, SecretReferenceError

TOP_LEVEL_KEYS = ("org", "prune", "connectors")
CLI_CONNECTOR_KEYS = ("preflight", "adopt")
CONNECTOR_KEYS = (*Connector.model_fields, *CLI_CONNECTOR_KEYS)
MIGRATION_KEYS = ("to", "workspace", "username", "email", "scope", "repository", "project", "secret")
REFERENCE_FORMS = "${env:NAME}, ${file:PATH}, ${aws-sm:SECRET_ID[#JSON_KEY]} or ${aws-ssm:/PARAM}"
# Stands in for a secret that could not be read, so the rest of the entry is still checked.
# Never sent: any problem stops the command before a request is made.
_UNRESOLVED = Secret("unresolved-secret-placeholder")
# A definitions file of 10,000 connectors is about 3 MiB; anything far larger is not one.
MAX_FILE_BYTES = 8 * 1024 * 1024
# Nodes after alias expansion: generous for anchors shared by thousands of connectors, far below a bomb.
MAX_EXPANDED_NODES = 1_000_000


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
        return Definitions(self.source, self.org, self.prune, kept)


@dataclass(frozen=True)
class MigrationTarget:
    """One entry of a `migrate --all-app-passwords --mapping FILE` file: where a connector moves to."""

    path: str
    connector_id: str
    to: AuthType
    workspace: Any
    fields: dict[str, Any]
    secret: Secret


# --------------------------------------------------------------------------- YAML with positions
@dataclass
class _Document:
    data: Any
    lines: dict[str, int] = field(default_factory=dict)  # path -> 1-based line
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: str, message: str, rule: str = "invalid") -> None:
        self.problems.append(Problem(path, message, rule))

    def located(self, problem: Problem) -> Problem:
        """The problem with `(line N)` of its path, or of its nearest parent that has one."""
        path = problem.path
        while path:
            line = self.lines.get(path)
            if line is not None:
                return Problem(problem.path, f"{problem.message} (line {line})", problem.rule)
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return problem


def _read_text(source: Path) -> str:
    try:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DefinitionsError([Problem(str(source), f"the file has {size} bytes, more than the "
                                            f"{MAX_FILE_BYTES} a definitions file may have; split it", "too_large")])
        with source.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise DefinitionsError([Problem(str(source), f"cannot read the file: {error.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:  # grew since stat, or not a regular file
        raise DefinitionsError([Problem(str(source), f"the file has more than {MAX_FILE_BYTES} bytes; split it",
                                        "too_large")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionsError([Problem(str(source), "not UTF-8 text; save the file as UTF-8")]) from None


def _read_yaml(source: Path) -> _Document:
    import yaml

    text = _read_text(source)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return _Document(None)
        if "*" in text:  # an alias is written `*name`: without one nothing can expand or recurse
            _check_expansion(node, source)
        document = _Document(None)
        _index(node, "", document)
        document.data = loader.construct_document(node)
        return document
    except yaml.MarkedYAMLError as error:
        # Only the parser's own words (problem/context): its snippet of the line could hold a secret.
        mark = error.problem_mark or error.context_mark
        where = f"{source.name}:{mark.line + 1}:{mark.column + 1}" if mark else source.name
        detail = error.problem or "invalid YAML"
        if error.context:
            detail += f" ({error.context})"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            detail += "; that is a tab: YAML indents with spaces only"
        raise DefinitionsError([Problem(where, f"YAML syntax error: {detail}", "yaml")]) from None
    except yaml.YAMLError as error:
        raise DefinitionsError([Problem(source.name, f"YAML error: {type(error).__name__}", "yaml")]) from None
    except RecursionError:
        raise DefinitionsError([Problem(source.name, "the YAML nests too deeply; flatten it", "yaml")]) from None
    finally:
        loader.dispose()


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column:column + 1] if 0 <= line < len(lines) else ""


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Any, source: Path) -> None:
    """Refuse a document whose aliases expand past MAX_EXPANDED_NODES, or that contains itself.

    The expanded size is computed once per node (memoised over the node graph), so this costs time
    linear in the file, however many times an alias is used. Iterative: no recursion limit to hit.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = min(MAX_EXPANDED_NODES + 1, 1 + sum(sizes[id(child)] for child in _children(node)))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise DefinitionsError([Problem(
                f"{source.name}:{node.start_mark.line + 1}",
                "an alias refers to a node that contains it (a recursive alias); write the value out", "yaml")])
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    if sizes[id(root)] > MAX_EXPANDED_NODES:
        raise DefinitionsError([Problem(
            source.name,
            f"the YAML's aliases (*name) expand to more than {MAX_EXPANDED_NODES} values (an alias bomb?); "
            "write the values out or use fewer nested aliases", "alias_expansion")])


def _index(root: Any, root_path: str, document: _Document) -> None:
    """Record each path's line and flag duplicate keys (YAML would silently keep the last one).

    Each node is indexed once, at its first path: a node reached again through an alias adds
    nothing (its problems are reported at the line of the alias's parent), so indexing stays linear.
    """
    import yaml

    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, root_path)]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        document.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = str(key_node.value)
                child = join_path(path, [key])
                line = key_node.start_mark.line + 1
                if key in first_seen:
                    document.problem(child, f"duplicate key `{display_key(key)}` (also on line {first_seen[key]}); "
                                            "keep one", "duplicate")
                else:
                    first_seen[key] = line
                    document.lines[child] = line
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, join_path(path, [position])) for position, item in enumerate(node.value))


# --------------------------------------------------------------------------- secrets
class _SecretResolver:
    """Resolves `${...}` references once each (several connectors may share one) and refuses plaintext."""

    def __init__(
        self,
        base_dir: Path,
        allow_plaintext: bool,
        document: _Document,
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
def _check_bool(document: _Document, container: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = container.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        document.problem(join_path(path, [key]), "must be true or false", "type")
        return default
    return value


def _connector_entry(
    item: Any, path: str, document: _Document, resolve: _SecretResolver, at: datetime | None
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


def _check_unique(declared: Iterable[Declared], document: _Document) -> None:
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
    document = _read_yaml(source)
    data = document.data
    if data is None:
        raise DefinitionsError([Problem(str(source), "the file is empty; expected a mapping with `connectors:`")])
    if not isinstance(data, Mapping):
        raise DefinitionsError([document.located(Problem(
            "", "the file must be a mapping with `connectors:` (and optionally `org:` and `prune:`)", "type"))])
    for key in data:
        if not isinstance(key, str) or key not in TOP_LEVEL_KEYS:
            document.problem(join_path("", [str(key)]), unknown_key_message(str(key), TOP_LEVEL_KEYS), "unknown_key")
    org = data.get("org")
    if org is not None and (not isinstance(org, str) or not org.strip()):
        document.problem("org", "must be the StackGuardian org name (a non-empty string)", "type")
        org = None
    prune = _check_bool(document, data, "prune", "", False)
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
    return Definitions(source, org.strip() if isinstance(org, str) else None, prune, tuple(declared))


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
    document = _read_yaml(source)
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
