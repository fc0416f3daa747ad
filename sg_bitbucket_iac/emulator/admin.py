"""Admin API of the emulator: seed data, edit behind the tool's back, inject faults, read stats.

JSON in and out, no authentication (it listens on loopback only, like the emulated APIs). Every
scenario can be driven from another process with it. Routes (the README's "The emulator", plus
the additions marked +):

* ``GET /health`` (+) -> ``{"status": "ok", "bitbucket": true}`` (the emulated Bitbucket is always served)
* ``POST /orgs`` ``{"org", "api_keys": [...]}``: creates the org or adds the keys; ``GET /orgs`` (+)
* ``POST /bitbucket/workspaces``, ``POST /bitbucket/credentials``, ``PATCH /bitbucket/credentials/{key}``
* ``GET|PATCH|DELETE /stackguardian/orgs/{org}/integrations/{id}``: raw record (secrets unmasked),
  edit behind the tool's back, delete outside the tool (DELETE +)
* ``GET /stackguardian/orgs/{org}/integrations`` (+): ``{"records": [raw record, ...]}`` in Id order
* ``POST /stackguardian/orgs/{org}/integrations/bulk`` (+) ``{"records": [Integration, ...]}``: creates
  many connectors in one request, all or nothing, with the public create rules (the org is created
  if needed)
* ``POST /faults`` (see faults.py), ``GET /faults`` (+), ``DELETE /faults``, ``DELETE /faults/{id}`` (+)
* ``GET /stats``, ``DELETE /stats``
* ``GET /clock``, ``POST /clock`` ``{"now": "2026-06-10T00:00:00Z" | null}`` (null: real time again)

Errors are ``400 {"msg": ...}`` (404 for an unknown record or route).
"""

from __future__ import annotations

from typing import Any

from ..timeline import parse_instant
from .core import EmulatedClock, Request, Response, Router
from .faults import FaultInjector, RequestStats
from .records import ApiError
from .stackguardian import StackGuardianApi
from .state import EmulatorState

SG_RECORD = "/stackguardian/orgs/{org}/integrations/{integration}"


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise ApiError(400, "request body is not valid JSON") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def clock_json(clock: EmulatedClock) -> dict[str, Any]:
    return {"now": clock.now().isoformat().replace("+00:00", "Z"), "fixed": clock.fixed is not None}


class AdminApi:
    """Routes of the admin listener over the shared state, faults and stats."""

    def __init__(
        self,
        state: EmulatorState,
        stackguardian: StackGuardianApi,
        faults: FaultInjector,
        stats: RequestStats,
    ) -> None:
        self.state = state
        self.stackguardian = stackguardian
        self.faults = faults
        self.stats = stats
        router = Router()
        for method, template, handler in (
            ("GET", "/health", self._health),
            ("GET", "/orgs", self._list_orgs),
            ("POST", "/orgs", self._add_org),
            ("POST", "/bitbucket/workspaces", self._add_workspace),
            ("POST", "/bitbucket/credentials", self._add_credential),
            ("PATCH", "/bitbucket/credentials/{key}", self._patch_credential),
            ("GET", "/stackguardian/orgs/{org}/integrations", self._list_records),
            ("POST", "/stackguardian/orgs/{org}/integrations/bulk", self._bulk_create),
            ("GET", SG_RECORD, self._get_record),
            ("PATCH", SG_RECORD, self._edit_record),
            ("DELETE", SG_RECORD, self._delete_record),
            ("GET", "/faults", self._list_faults),
            ("POST", "/faults", self._add_fault),
            ("DELETE", "/faults", self._clear_faults),
            ("DELETE", "/faults/{fault_id}", self._remove_fault),
            ("GET", "/stats", self._get_stats),
            ("DELETE", "/stats", self._reset_stats),
            ("GET", "/clock", self._get_clock),
            ("POST", "/clock", self._set_clock),
        ):
            router.add(method, template, handler)
        self._router = router

    def handle(self, request: Request) -> tuple[str, Response]:
        found = self._router.match(request)
        if found is None:
            return f"{request.method} (unknown route)", Response.json(404, {"msg": "No such admin route"})
        route, handler, params = found
        try:
            with self.state.lock:
                return route, handler(request, **params)
        except ApiError as error:
            return route, error.response()
        except ValueError as error:
            return route, Response.json(400, {"msg": str(error)})

    # ------------------------------------------------------------------ orgs
    def _health(self, request: Request) -> Response:
        return Response.json(200, {"status": "ok", "bitbucket": True})

    def _list_orgs(self, request: Request) -> Response:
        return Response.json(200, {"orgs": sorted(self.state.org_keys)})

    def _add_org(self, request: Request) -> Response:
        body = _body(request)
        org = body.get("org")
        keys = body.get("api_keys", [])
        if not isinstance(org, str) or not org:
            raise ApiError(400, "`org` must be a non-empty string")
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise ApiError(400, "`api_keys` must be a list of non-empty strings")
        self.state.add_org(org, keys)
        return Response.json(200, {"msg": f"org {org} saved", "org": org})

    # ------------------------------------------------------------------ Bitbucket (delegated)
    def _add_workspace(self, request: Request) -> Response:
        return Response.json(200, self.state.bitbucket.add_workspace(_body(request)))

    def _add_credential(self, request: Request) -> Response:
        return Response.json(200, self.state.bitbucket.add_credential(_body(request)))

    def _patch_credential(self, request: Request, key: str) -> Response:
        try:
            return Response.json(200, self.state.bitbucket.patch_credential(key, _body(request)))
        except KeyError:
            raise ApiError(404, "no such Bitbucket credential") from None

    # ------------------------------------------------------------------ StackGuardian records
    def _list_records(self, request: Request, org: str) -> Response:
        connectors = self.state.org_connectors(org)
        return Response.json(200, {"records": [connectors[i] for i in sorted(connectors)]})

    def _bulk_create(self, request: Request, org: str) -> Response:
        records = _body(request).get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ApiError(400, '`records` must be a list of Integration objects')
        self.state.add_org(org, [])
        created: list[str] = []
        for index, record in enumerate(records):
            try:
                created.append(self.stackguardian.create_connector(org, record)["Id"])
            except ApiError as error:
                for connector_id in created:  # all or nothing
                    self.stackguardian.delete_connector(org, connector_id)
                raise ApiError(400, f"records[{index}]: {error.msg}; nothing was created") from None
        return Response.json(200, {"msg": f"{len(created)} connectors created", "ids": created})

    def _get_record(self, request: Request, org: str, integration: str) -> Response:
        return Response.json(200, self.stackguardian.raw_record(org, integration))

    def _edit_record(self, request: Request, org: str, integration: str) -> Response:
        return Response.json(200, self.stackguardian.edit_record(org, integration, _body(request)))

    def _delete_record(self, request: Request, org: str, integration: str) -> Response:
        record = self.stackguardian.delete_connector(org, integration)
        return Response.json(200, {"msg": f"Connector {record['ResourceName']} deleted"})

    # ------------------------------------------------------------------ faults, stats, clock
    def _list_faults(self, request: Request) -> Response:
        return Response.json(200, {"faults": self.faults.to_json()})

    def _add_fault(self, request: Request) -> Response:
        fault = self.faults.add(_body(request))
        return Response.json(200, {"msg": "fault added", "fault": fault.to_json()})

    def _clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response.json(200, {"msg": "faults cleared"})

    def _remove_fault(self, request: Request, fault_id: str) -> Response:
        if not fault_id.isdigit() or not self.faults.remove(int(fault_id)):
            return Response.json(404, {"msg": f"no fault {fault_id}"})
        return Response.json(200, {"msg": f"fault {fault_id} removed"})

    def _get_stats(self, request: Request) -> Response:
        return Response.json(200, self.stats.to_json())

    def _reset_stats(self, request: Request) -> Response:
        self.stats.reset()
        return Response.json(200, self.stats.to_json())

    def _get_clock(self, request: Request) -> Response:
        return Response.json(200, clock_json(self.state.clock))

    def _set_clock(self, request: Request) -> Response:
        body = _body(request)
        if "now" not in body:
            raise ApiError(400, '`now` is required: an ISO 8601 instant, or null for the real time')
        value = body["now"]
        if value is not None and not isinstance(value, str):
            raise ApiError(400, "`now` must be an ISO 8601 string or null")
        self.state.clock.set(parse_instant(value) if value else None)
        return Response.json(200, clock_json(self.state.clock))
