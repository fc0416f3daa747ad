"""Emulated StackGuardian connector ("integrations") API.

Routes under ``/api/v1/orgs/{org}/integrations/`` (trailing slash optional), ``Authorization:
apikey <key>`` per org, ``{"msg": ...}`` bodies, sg-sdk-go's ``ConnectorRecord`` shape and the
Bitbucket credential rules (``records.py``). The wire format, and which parts of it are
confirmed, inferred or assumed: docs/evidence.md#stackguardian-wire-format. What no source
confirms is a switch (``switches.py``).

Fixed behaviours:

* PATCH: an absent key is unchanged; ``null`` clears: Description -> ``""``, Tags -> ``[]``,
  ContextTags -> ``{}``, DiscoverySettings -> ``null`` (the record keeps the key), Scope ->
  ``["*"]`` (the create default); ResourceName and Settings cannot be cleared; Id is immutable.
* ``ContextTags`` values may be ``null`` (sg-sdk-go's types make them nullable, [inferred]): stored
  and read back as ``null``.
* Error texts: 401 ``Invalid or expired API key``, 403 ``Forbidden``, 404 ``Connector <id> not
  found``, duplicate 400 ``Connector <Id> already exists``. No error text ever repeats a secret.

``Authentication.authenticated`` is computed against the emulated Bitbucket
(``BitbucketState.credential_authenticates``) at every write and every read; ``authenticatedAt`` is
when it was last computed. An Authentication block set through the admin API is pinned and wins
until cleared.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import re
from typing import Any

from .core import Request, Response, Router
from .records import (
    ADMIN_EXTRA_FIELDS,
    BITBUCKET_CREDENTIAL_KEYS,
    BITBUCKET_FIELDS,
    BITBUCKET_KIND,
    ID_RE,
    KINDS,
    MASK,
    MAX_NAME,
    PLAIN_FIELDS,
    SECRET_KEYS,
    USER_SECRET_KEYS,
    USER_SECRET_RE,
    ApiError,
    config_of,
    infer_bitbucket_auth_type,
    is_mask,
    merged,
    plain_field_values,
)
from .state import EmulatorState
from .switches import StackGuardianOptions

MAX_LIST_LIMIT = 500
DEFAULT_LIST_LIMIT = 50
BASE = "/api/v1/orgs/{org}/integrations/"


def _cursor(connector_id: str) -> str:
    return base64.urlsafe_b64encode(connector_id.encode()).decode()


def _uncursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "lastevaluatedkey is not a cursor returned by listall") from None


def _parse_body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise ApiError(400, "Malformed JSON in request body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    return body


class StackGuardianApi:
    """The connector API over an :class:`EmulatorState`; also the service the admin API uses."""

    def __init__(self, state: EmulatorState, options: StackGuardianOptions | None = None) -> None:
        self.state = state
        self.options = options or StackGuardianOptions()
        self._router = Router()
        self._router.add("POST", BASE, self._http_create)
        self._router.add("GET", BASE + "listall/", self._http_list)
        self._router.add("GET", BASE + "{integration}/", self._http_get)
        self._router.add("PATCH", BASE + "{integration}/", self._http_patch)
        self._router.add("DELETE", BASE + "{integration}/", self._http_delete)

    # ------------------------------------------------------------------ HTTP layer
    def handle(self, request: Request) -> tuple[str, Response]:
        found = self._router.match(request)
        if found is None:
            return self.route_template(request), Response.json(404, {"msg": "Not found"})
        route, handler, params = found
        with self.state.lock:
            try:
                if "org" in params:
                    self._authorize(request, params["org"])
                return route, handler(request, **params)
            except ApiError as error:
                return route, error.response()

    def route_template(self, request: Request) -> str:
        """The stats key for a request, without handling it (for faults injected before the handler)."""
        found = self._router.match(request)
        return found[0] if found else f"{request.method} (unknown route)"

    def _authorize(self, request: Request, org: str) -> None:
        scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "apikey" or not key:
            raise ApiError(401, "Invalid or expired API key")
        orgs = self.state.orgs_of_key(key)
        if not orgs:
            raise ApiError(401, "Invalid or expired API key")
        if org not in orgs:
            if org not in self.state.org_keys and self.options.unknown_org_status == 404:
                raise ApiError(404, f"Organization {org} not found")
            raise ApiError(403, "Forbidden")

    def _http_create(self, request: Request, org: str) -> Response:
        record = self.create_connector(org, _parse_body(request))
        return Response.json(
            self.options.create_status,
            {"msg": f"Connector {record['ResourceName']} created", "data": self.public_view(record)},
        )

    def _http_get(self, request: Request, org: str, integration: str) -> Response:
        return Response.json(200, {"msg": self.read_connector(org, integration)})

    def _http_patch(self, request: Request, org: str, integration: str) -> Response:
        body = _parse_body(request)
        before = self.public_view(self.raw_record(org, integration))
        record = self.update_connector(org, integration, body)
        answer = before if self.options.patch_answer == "stale" else self.public_view(record)
        return Response.json(200, {"msg": f"Integration {record['ResourceName']} updated", "data": answer})

    def _http_delete(self, request: Request, org: str, integration: str) -> Response:
        record = self.delete_connector(org, integration)
        return Response.json(200, {"msg": f"Connector {record['ResourceName']} deleted"})

    def _http_list(self, request: Request, org: str) -> Response:
        items, cursor = self.list_connectors(
            org,
            limit=request.arg("limit"),
            kinds=request.arg("kind"),
            names=request.arg("ResourceNames"),
            cursor=request.arg("lastevaluatedkey"),
        )
        if self.options.list_item_wrap:
            return Response.json(200, {"msg": [{"msg": item} for item in items], "lastevaluatedkey": cursor})
        return Response.json(200, {"msg": items, "lastevaluatedkey": cursor})

    # ------------------------------------------------------------------ operations
    def create_connector(self, org: str, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new connector; returns the raw stored record."""
        with self.state.lock:
            fields = plain_field_values(body, present_only=False)
            settings = self._check_settings(body.get("Settings"), stored=None)
            connector_id = self._connector_id(body.get("Id"), fields["ResourceName"])
            connectors = self.state.org_connectors(org)
            if connector_id in connectors:
                raise ApiError(400, f"Connector {connector_id} already exists")
            now = self.state.clock.epoch_ms()
            record: dict[str, Any] = {
                "Id": connector_id,
                "ResourceName": fields["ResourceName"],
                "Description": fields["Description"],
                "Settings": settings,
                "DiscoverySettings": fields["DiscoverySettings"],
                "Tags": fields["Tags"],
                "ContextTags": fields["ContextTags"],
                "Scope": fields["Scope"],
                "IsActive": "1",
                "IsArchive": "0",
                "ResourceId": f"/integrations/{connector_id}",
                "ResourceType": f"INTEGRATION.{settings['kind']}",
                "ParentId": f"/orgs/{org}",
                "OrgId": f"/orgs/{org}",
                "SubResourceId": "",
                "DocVersion": "V3.BETA",
                "Authors": ["apikey"],
                "CreatedAt": now,
                "ModifiedAt": now,
                "Authentication": {},
            }
            self._authenticate(org, record)
            connectors[connector_id] = record
            return record

    def read_connector(self, org: str, connector_id: str) -> dict[str, Any]:
        """The record as GET shows it: Authentication refreshed, secrets per ``secret_read_mode``."""
        with self.state.lock:
            record = self.raw_record(org, connector_id)
            self._authenticate(org, record)
            return self.public_view(record)

    def update_connector(self, org: str, connector_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH: absent keys unchanged, null clears, Settings replaced whole, Id immutable."""
        with self.state.lock:
            record = self.raw_record(org, connector_id)
            self._check_same_id(body, record["Id"])
            fields = plain_field_values(body, present_only=True)
            settings = self._check_settings(body["Settings"], stored=record["Settings"]) if "Settings" in body else None
            self._apply(record, fields, settings)
            self._authenticate(org, record)
            return record

    def edit_record(self, org: str, connector_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """An edit behind the tool's back (admin API): PATCH merge rules, Settings not validated.

        ``Authentication`` pins the block (``null`` unpins); ``IsActive`` and friends may be set too.
        """
        with self.state.lock:
            record = self.raw_record(org, connector_id)
            allowed = set(PLAIN_FIELDS) | ADMIN_EXTRA_FIELDS | {"Id", "Settings", "Authentication"}
            unknown = sorted(set(body) - allowed)
            if unknown:
                raise ApiError(400, f"keys that cannot be edited: {', '.join(unknown)}")
            self._check_same_id(body, connector_id)
            fields = plain_field_values(body, present_only=True)
            fields.update({key: body[key] for key in ADMIN_EXTRA_FIELDS if key in body})
            settings = None
            if "Settings" in body:
                if not isinstance(body["Settings"], dict):
                    raise ApiError(400, "Settings must be an object")
                settings = copy.deepcopy(body["Settings"])
            if "Authentication" in body:
                self._pin_authentication(org, connector_id, body["Authentication"])
            self._apply(record, fields, settings)
            self._authenticate(org, record)
            return record

    def delete_connector(self, org: str, connector_id: str) -> dict[str, Any]:
        with self.state.lock:
            record = self.raw_record(org, connector_id)
            del self.state.org_connectors(org)[record["Id"]]
            self.state.pinned_authentication.get(org, {}).pop(record["Id"], None)
            return record

    def list_connectors(
        self,
        org: str,
        *,
        limit: str | None = None,
        kinds: str | None = None,
        names: str | None = None,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """One listall page (read views, in Id order) and the cursor of the next page ("" at the end)."""
        page_size = self._list_limit(limit)
        kind_filter = {k for k in (kinds or "").split(",") if k}
        name_filter = {n for n in (names or "").split(",") if n}
        with self.state.lock:
            connectors = self.state.org_connectors(org)
            ids = sorted(connectors)
            start = bisect.bisect_right(ids, _uncursor(cursor)) if cursor else 0
            page: list[dict[str, Any]] = []
            more = False
            for connector_id in ids[start:]:
                record = connectors[connector_id]
                settings = record.get("Settings")
                kind = settings.get("kind") if isinstance(settings, dict) else None
                if kind_filter and kind not in kind_filter:
                    continue
                if name_filter and record.get("ResourceName") not in name_filter:
                    continue
                if len(page) == page_size:
                    more = True
                    break
                page.append(record)
            items = []
            for record in page:
                self._authenticate(org, record)
                items.append(self.public_view(record))
            return items, _cursor(page[-1]["Id"]) if more else ""

    def raw_record(self, org: str, connector_id: str) -> dict[str, Any]:
        """The stored record itself, secrets included (for the admin API and the handlers).

        With ``name_lookup`` a path segment that is no Id but exactly one connector's ResourceName
        finds that connector (what is known of it: docs/evidence.md#emulator-switches).
        """
        connectors = self.state.org_connectors(org)
        record = connectors.get(connector_id)
        if record is None and self.options.name_lookup:
            named = [r for r in connectors.values() if r.get("ResourceName") == connector_id]
            record = named[0] if len(named) == 1 else None
        if record is None:
            raise ApiError(404, f"Connector {connector_id} not found")
        return record

    def public_view(self, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of the record with secret config keys masked, omitted or echoed."""
        view = copy.deepcopy(record)
        config = config_of(view)
        if config is not None:
            view["Settings"]["config"][0] = self._mask_config(config)
        return view

    # ------------------------------------------------------------------ helpers
    def _apply(self, record: dict[str, Any], fields: dict[str, Any], settings: dict[str, Any] | None) -> None:
        record.update(fields)
        if settings is not None:
            record["Settings"] = settings
            record["ResourceType"] = f"INTEGRATION.{settings.get('kind')}"
        record["ModifiedAt"] = self.state.clock.epoch_ms()

    @staticmethod
    def _check_same_id(body: dict[str, Any], connector_id: str) -> None:
        if body.get("Id") not in (None, connector_id):
            raise ApiError(400, f"Id is immutable: connector {connector_id} cannot be renamed to another Id")

    def _connector_id(self, given: Any, name: str) -> str:
        if given in (None, ""):
            allowed = r"[^A-Za-z0-9_-]" if self.options.derived_id_keeps_hyphens else r"[^A-Za-z0-9_]"
            connector_id = re.sub(allowed, "_", name)
        elif isinstance(given, str):
            connector_id = given
        else:
            raise ApiError(400, "Id must be a string")
        if not ID_RE.match(connector_id) or len(connector_id) >= MAX_NAME:
            raise ApiError(
                400, f"Id must match ^[A-Za-z0-9_-]+$ and be shorter than {MAX_NAME} characters"
            )
        return connector_id

    @staticmethod
    def _list_limit(text: str | None) -> int:
        if text in (None, ""):
            return DEFAULT_LIST_LIMIT
        try:
            limit = int(text)
        except ValueError:
            raise ApiError(400, "limit must be an integer") from None
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ApiError(400, f"limit must be between 1 and {MAX_LIST_LIMIT}")
        return limit

    def _check_settings(self, value: Any, stored: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ApiError(400, 'Settings is required: {"kind": ..., "config": [{...}]}')
        kind = value.get("kind")
        if kind not in KINDS:
            raise ApiError(400, f"Settings.kind must be one of {', '.join(KINDS)}")
        configs = value.get("config")
        if not isinstance(configs, list) or len(configs) != 1 or not isinstance(configs[0], dict):
            raise ApiError(400, "Settings.config must be a list of exactly one object")
        config = copy.deepcopy(configs[0])
        same_kind_config = None
        if isinstance(stored, dict) and stored.get("kind") == kind:
            same_kind_config = config_of({"Settings": stored})
        merging = self.options.settings_patch == "merge" and same_kind_config is not None
        if kind == BITBUCKET_KIND:
            config = self._check_bitbucket_config(config, same_kind_config, merge=merging)
        elif merging and same_kind_config is not None:
            config = merged(same_kind_config, config)
        return {"kind": kind, "config": [config]}

    def _check_bitbucket_config(
        self, config: dict[str, Any], stored: dict[str, Any] | None, *, merge: bool = False
    ) -> dict[str, Any]:
        """The auth-type rules: one complete credential set of one type, nothing of another type.

        ``merge`` (``settings_patch="merge"``): the sent keys are laid over the stored
        ``config[0]``, a ``null`` deletes its key, and keys of another auth type that were not
        cleared survive; such a server does not police leftovers, so they are not refused.
        """
        keys = BITBUCKET_CREDENTIAL_KEYS | {"bitbucketAuthType"}
        if merge and stored is not None:
            config = merged(stored, config)
        config = {k: v for k, v in config.items() if not (k in keys and v in (None, ""))}
        for key in keys & set(config):
            if not isinstance(config[key], str):
                raise ApiError(400, f"{key} must be a string")
        auth_type = config.get("bitbucketAuthType")
        if auth_type is None:
            if not self.options.infer_bitbucket_auth_type:
                raise ApiError(400, "bitbucketAuthType is required: API_TOKEN, ACCESS_TOKEN or APP_PASSWORD")
            auth_type = infer_bitbucket_auth_type(config)
        elif auth_type not in BITBUCKET_FIELDS:
            raise ApiError(400, "bitbucketAuthType must be one of API_TOKEN, ACCESS_TOKEN, APP_PASSWORD")
        stored_type = None
        if stored is not None:
            stored_type = stored.get("bitbucketAuthType") or infer_bitbucket_auth_type(stored)
        switching = stored_type is not None and stored_type != auth_type
        for key in SECRET_KEYS & set(config):
            if not is_mask(config[key]):
                continue
            if self.options.masked_secret_on_patch == "keep" and not switching and stored and key in stored:
                config[key] = stored[key]
            else:
                raise ApiError(400, f"{key} holds the read-back mask, not a credential; send the real value")
        needed = BITBUCKET_FIELDS[auth_type]
        foreign = sorted(k for k in BITBUCKET_CREDENTIAL_KEYS - set(needed) if k in config)
        if foreign and not merge:
            raise ApiError(
                400,
                f"bitbucketAuthType {auth_type} does not take {', '.join(foreign)}; "
                "send the fields of one auth type only",
            )
        missing = [k for k in needed if k not in config]
        if missing:
            message = f"bitbucketAuthType {auth_type} requires {', '.join(missing)}"
            if switching:
                message += (
                    f"; changing the auth type from {stored_type} clears the saved credentials, "
                    f"so send every field of {auth_type}"
                )
            raise ApiError(400, message)
        if "bitbucketCreds" in config and not USER_SECRET_RE.match(config["bitbucketCreds"]):
            raise ApiError(400, "bitbucketCreds must have the form '<username>:<secret>'")
        if "bitbucketEmail" in config and "@" not in config["bitbucketEmail"]:
            raise ApiError(400, "bitbucketEmail must be an email address")
        if self.options.store_resolved_auth_type:
            config["bitbucketAuthType"] = auth_type
        return config

    def _mask_config(self, config: dict[str, Any]) -> dict[str, Any]:
        mode = self.options.secret_read_mode
        if mode == "echo":
            return config
        shown: dict[str, Any] = {}
        for key, value in config.items():
            if key not in SECRET_KEYS:
                shown[key] = value
            elif mode == "omit":
                continue
            elif mode == "mask_user" and key in USER_SECRET_KEYS and isinstance(value, str) and ":" in value:
                shown[key] = value.partition(":")[0] + ":" + MASK
            else:
                shown[key] = MASK
        return shown

    def _pin_authentication(self, org: str, connector_id: str, value: Any) -> None:
        pins = self.state.pinned_authentication.setdefault(org, {})
        if value is None:
            pins.pop(connector_id, None)
            return
        if not isinstance(value, dict) or not isinstance(value.get("authenticated"), bool):
            raise ApiError(400, 'Authentication must be {"authenticated": true|false, ...} or null')
        pinned = {"authenticated": value["authenticated"]}
        pinned["authenticatedAt"] = value.get("authenticatedAt", self.state.clock.epoch_ms())
        pins[connector_id] = pinned

    def _authenticate(self, org: str, record: dict[str, Any]) -> None:
        """Recompute the Authentication block (unless pinned by the admin API)."""
        pinned = self.state.pinned_authentication.get(org, {}).get(record["Id"])
        if pinned is not None:
            record["Authentication"] = dict(pinned)
            return
        record["Authentication"] = {
            "authenticated": self._credentials_work(record),
            "authenticatedAt": self.state.clock.epoch_ms(),
        }

    def _credentials_work(self, record: dict[str, Any]) -> bool:
        settings = record.get("Settings")
        if not isinstance(settings, dict) or settings.get("kind") != BITBUCKET_KIND:
            return True
        config = config_of(record)
        if config is None:
            return False
        auth_type = config.get("bitbucketAuthType") or infer_bitbucket_auth_type(config)
        return self.state.bitbucket.credential_authenticates(auth_type, config, self.state.clock.now())
