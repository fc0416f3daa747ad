"""WORKAROUNDS for tf 1.2.0's `ProviderServicer`, in one subclass that `main()` installs.

1. Unknown values of every kind (see unknowns.py): each request that can carry values unknown at
   plan time has its DynamicValues normalised before tf decodes them, so refined unknowns
   (Terraform >= 1.6, OpenTofu), also inside lists and sets, reach the resource as `Unknown`.
2. Creates go through `Resource.plan()` too, and an update plan replaces the resource when
   `plan()` itself changes an attribute marked `requires_replace` (tf compares only the config's
   proposal with the prior state, so a computed attribute such as `org`, which follows the
   provider's `org_name`, would never force a replacement). tf plans a create without asking the resource: every
   unset computed attribute becomes its schema default. That would leave a create plan unable to
   (a) fail on an existing connector with the same Id, on the app-password date policy or on a
   failing preflight, and (b) show the Id and the credential fingerprint it will have. This
   subclass runs the framework's create plan unchanged, then passes the result through
   `plan(ctx, None, planned)` (the hook's signature already allows `current=None`). Updates are
   untouched.
3. Every diagnostic leaves with its control characters escaped (``\x1b[2J`` shown, never run):
   a detail can quote a server's error text or a name set in the StackGuardian UI, and Terraform
   prints diagnostics to the terminal as they come.
4. Private state (private.py) travels with each call about a resource instance: tf reads none and
   answers none, which would drop it; here each call runs inside :func:`private.exchange` of what
   Terraform sent, and the answer carries what the resource sent (by default what came in).

`main()` installs it by replacing `tf.provider.ProviderServicer`, which `tf.runner.run_provider`
imports when it starts; tests/terraform/test_unknowns.py fails if a tf upgrade changes that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tf.gen import tfplugin_pb2 as pb
from tf.iface import PlanContext
from tf.provider import ProviderServicer
from tf.types import Unknown
from tf.utils import Diagnostics, _to_attribute_path, read_dynamic_value, to_dynamic_value

from ..redact import escape_control
from . import private
from .unknowns import normalize_request

# Every tfplugin6 call whose response carries diagnostics.
_RPCS_WITH_DIAGNOSTICS = (
    "GetProviderSchema", "ValidateProviderConfig", "ValidateResourceConfig", "ValidateDataResourceConfig",
    "UpgradeResourceState", "ConfigureProvider", "ReadResource", "PlanResourceChange", "ApplyResourceChange",
    "ImportResourceState", "ReadDataSource",
)


class SGBitbucketServicer(ProviderServicer):
    # ------------------------------------------------------------------ 1. every unknown is Unknown
    def ValidateProviderConfig(self, request: Any, context: Any) -> Any:
        return super().ValidateProviderConfig(normalize_request("ValidateProviderConfig", request), context)

    def ConfigureProvider(self, request: Any, context: Any) -> Any:
        return super().ConfigureProvider(normalize_request("ConfigureProvider", request), context)

    def ValidateResourceConfig(self, request: Any, context: Any) -> Any:
        return super().ValidateResourceConfig(normalize_request("ValidateResourceConfig", request), context)

    def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:
        return super().ValidateDataResourceConfig(normalize_request("ValidateDataResourceConfig", request), context)

    def ReadDataSource(self, request: Any, context: Any) -> Any:
        return super().ReadDataSource(normalize_request("ReadDataSource", request), context)

    def ApplyResourceChange(self, request: Any, context: Any) -> Any:
        with private.exchange(request.planned_private) as call:
            response = super().ApplyResourceChange(normalize_request("ApplyResourceChange", request), context)
        response.private = call.sent.encode()
        return response

    # ------------------------------------------------------------------ 4. private state travels
    def ImportResourceState(self, request: Any, context: Any) -> Any:
        with private.exchange(b"") as call:
            response = super().ImportResourceState(request, context)
        for imported in response.imported_resources:
            imported.private = call.sent.encode()
        return response

    def ReadResource(self, request: Any, context: Any) -> Any:
        with private.exchange(request.private) as call:
            response = super().ReadResource(request, context)
        response.private = call.sent.encode()
        return response

    # ------------------------------------------------------------------ 2. creates are planned by the resource
    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        with private.exchange(request.prior_private) as call:
            response = self._plan(normalize_request("PlanResourceChange", request), context)
        response.planned_private = call.sent.encode()
        return response

    def _plan(self, request: Any, context: Any) -> Any:
        response = super().PlanResourceChange(request, context)
        prior = read_dynamic_value(request.prior_state)
        if prior is not None:
            return self._replace_when_planned(request.type_name, prior, response)
        if any(d.severity == pb.Diagnostic.ERROR for d in response.diagnostics):
            return response
        planned = read_dynamic_value(response.planned_state)
        if planned is None:
            return response  # nothing to create
        type_name = request.type_name
        attributes = self._get_res_attrs(type_name)
        decoded = {
            k: v if v is Unknown else attributes[k].type.decode(v) for k, v in planned.items() if k in attributes
        }
        diags = Diagnostics()
        resource = self.app.new_resource(self._get_res_cls(type_name))
        new_state = resource.plan(PlanContext(diags, type_name, changed_fields=set(decoded)), None, decoded)
        if new_state is not None:
            encoded = {
                k: v if v is Unknown else attributes[k].type.encode(v) for k, v in new_state.items()
            }
            response.planned_state.CopyFrom(to_dynamic_value(encoded))
        response.diagnostics.extend(diags.to_pb())
        return response


    def _replace_when_planned(self, type_name: str, prior: dict[str, Any], response: Any) -> Any:
        """Require replacement for a `requires_replace` attribute the resource's plan moved off a set value."""
        planned = read_dynamic_value(response.planned_state)
        if not isinstance(planned, dict) or any(d.severity == pb.Diagnostic.ERROR for d in response.diagnostics):
            return response
        listed = {tuple(step.attribute_name for step in path.steps) for path in response.requires_replace}
        for name, attribute in self._get_res_attrs(type_name).items():
            before, after = prior.get(name), planned.get(name)
            if attribute.requires_replace and before is not None and after is not Unknown and before != after \
                    and (name,) not in listed:
                response.requires_replace.append(_to_attribute_path([name]))
        return response


# ---------------------------------------------------------------------- 3. diagnostics are escaped
def escape_diagnostics(response: Any) -> Any:
    """``response`` with every diagnostic's summary (one line) and detail free of control characters."""
    for diagnostic in getattr(response, "diagnostics", ()):
        diagnostic.summary = escape_control(diagnostic.summary, keep="")
        diagnostic.detail = escape_control(diagnostic.detail)
    return response


def _escaping(rpc: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(rpc)
    def call(self: Any, request: Any, context: Any) -> Any:
        return escape_diagnostics(rpc(self, request, context))

    return call


for _rpc in _RPCS_WITH_DIAGNOSTICS:
    setattr(SGBitbucketServicer, _rpc, _escaping(getattr(SGBitbucketServicer, _rpc)))

