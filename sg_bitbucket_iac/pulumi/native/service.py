"""Pulumi's ResourceProvider gRPC service for ``sgbitbucket`` (the plugin's process is :mod:`.server`).

Built on the protocol bindings the Pulumi Python SDK ships (:mod:`pulumi.runtime.proto`: the
``ResourceProviderServicer`` base, the request/response messages, and the wire constants of
:mod:`pulumi.runtime.rpc`), served by ``grpc``'s thread-pool server like the SDK's own
dynamic-provider server. Not on ``pulumi.provider.experimental`` (3.272): its servicer turns every
exception into a message with a Python traceback, which the CLI prints; its ``PropertyValue``
cannot marshal an unknown (``Computed``) and fails on an unknown output value, so previews with
unknowns break; and its ``DiffConfig`` turns ``changes=True`` into ``DIFF_NONE``.

Each RPC translates (:mod:`.properties`) and calls :mod:`.backend`; a backend failure leaves as
the gRPC status text alone (one line, scrubbed), never with a traceback. Warnings go to the
engine's log service against the resource's URN, so the CLI prints them under that resource.
Blocking calls are fine here: the engine's concurrent requests get one thread each, and the
batched reads of a refresh rely on that.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc

from ... import __version__
from ...errors import BitbucketConnectorError
from ...redact import escape_control
from ..messages import shown
from ..properties import OUTPUT_KEYS, PROGRAM_INPUT_KEYS
from . import PACKAGE, properties
from .backend import LOOKUP_KEYS, SECRET_OUTPUT_KEYS, Backend, Failure, camel, configuration_of_urn
from .schema import FUNCTION_TOKEN, RESOURCE_TOKEN, schema_json

_URN: contextvars.ContextVar[str] = contextvars.ContextVar("urn", default="")
Handler = TypeVar("Handler", bound=Callable[..., Any])


class EngineLog:
    """Messages to the engine's log service (shown under the resource being worked on); stderr without an
    engine. The engine hides a resource plugin's own stderr unless `--debug`, so nothing meant for a
    person goes there while an engine listens."""

    def __init__(self, address: str | None) -> None:
        self._address = address
        self._stub: engine_pb2_grpc.EngineStub | None = None
        self._lock = threading.Lock()

    def warn(self, message: str) -> None:
        self._send(engine_pb2.WARNING, "warning", message)

    def info(self, message: str) -> None:
        """A line of the opt-in log (``SG_BITBUCKET_IAC_LOG``): shown with the run, like the dynamic provider's."""
        self._send(engine_pb2.INFO, "info", message)

    def _send(self, severity: engine_pb2.LogSeverity.ValueType, label: str, message: str) -> None:
        text = escape_control(message, keep="")
        try:
            stub = self._engine()
            if stub is not None:
                stub.Log(engine_pb2.LogRequest(severity=severity, message=text, urn=_URN.get()), timeout=10)
                return
        except grpc.RpcError:
            pass  # the engine is going away: the message goes where a person can still see it
        print(f"{label}: {PACKAGE}: {text}", file=sys.stderr, flush=True)

    def _engine(self) -> engine_pb2_grpc.EngineStub | None:
        with self._lock:
            if self._stub is None and self._address:
                self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(self._address))
            return self._stub


def _answers(handler: Handler) -> Handler:
    """One RPC: a BitbucketConnectorError becomes the status text alone; anything else one scrubbed line."""

    @functools.wraps(handler)
    def run(self: ConnectorProviderServicer, request: Any, context: grpc.ServicerContext) -> Any:
        _URN.set(getattr(request, "urn", "") or "")
        try:
            return handler(self, request, context)
        except BitbucketConnectorError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        except Exception as exc:  # a bug of ours: say what, never how deep (no traceback), never a secret
            secrets = _secrets_of(request)
            context.abort(grpc.StatusCode.INTERNAL,
                          f"{PACKAGE} {handler.__name__}: internal error ({type(exc).__name__}: "
                          f"{shown(str(exc), secrets, one_line=True)[:300]}); please report it")
        raise AssertionError("unreachable: context.abort raises")

    return run  # type: ignore[return-value]


def _secrets_of(request: Any) -> list[str]:
    """Every string the request carries marked secret, or under a secret key (for scrubbing)."""
    found: list[str] = []
    for name in ("news", "olds", "properties", "inputs", "args", "old_inputs"):
        struct = getattr(request, name, None)
        if isinstance(struct, struct_pb2.Struct):
            props = properties.to_flat(struct)
            for key in {*props.secret, *SECRET_OUTPUT_KEYS}:
                value = props.values.get(key)
                if isinstance(value, str) and value:
                    found.append(value)
    return found


def _failures(failures: list[Failure]) -> list[proto.CheckFailure]:
    return [proto.CheckFailure(property=camel(f.key) if f.key else "", reason=f.reason) for f in failures]


class ConnectorProviderServicer(provider_pb2_grpc.ResourceProviderServicer):
    """``sgbitbucket``: the Connector resource, the getConnector function, and the provider config."""

    def __init__(self, engine_address: str | None = None) -> None:
        self.log = EngineLog(engine_address)
        self.backend = Backend(self.log.warn, log=self.log.info)

    # ------------------------------------------------------------------ plugin and provider
    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> proto.PluginInfo:
        return proto.PluginInfo(version=__version__)

    @_answers
    def GetSchema(self, request: proto.GetSchemaRequest, context: grpc.ServicerContext) -> proto.GetSchemaResponse:
        return proto.GetSchemaResponse(schema=schema_json())

    @_answers
    def CheckConfig(self, request: proto.CheckRequest, context: grpc.ServicerContext) -> proto.CheckResponse:
        config = properties.config_values(request.news, {})
        return proto.CheckResponse(inputs=request.news, failures=_failures(self.backend.check_config(config)))

    @_answers
    def Configure(self, request: proto.ConfigureRequest, context: grpc.ServicerContext) -> proto.ConfigureResponse:
        self.backend.configure(properties.config_values(request.args, dict(request.variables)))
        return proto.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=False,
                                       acceptOutputs=False)

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    # ------------------------------------------------------------------ the Connector resource
    def _resource(self, type_token: str) -> None:
        if type_token and type_token != RESOURCE_TOKEN:
            raise BitbucketConnectorError(
                f"{PACKAGE} has no resource type {escape_control(type_token)}; it has {RESOURCE_TOKEN}")

    @_answers
    def Check(self, request: proto.CheckRequest, context: grpc.ServicerContext) -> proto.CheckResponse:
        self._resource(request.type)
        news, olds = properties.to_flat(request.news), properties.to_flat(request.olds)
        checked = self.backend.check(olds.values, news.values, resource_name=request.name,
                                     configuration=configuration_of_urn(request.urn))
        failures = [Failure("", f"{escape_control(name)} is not a property of {RESOURCE_TOKEN}")
                    for name in news.strangers] + checked.failures
        secret = {*SECRET_OUTPUT_KEYS, *news.secret}
        return proto.CheckResponse(inputs=properties.from_flat(checked.inputs, PROGRAM_INPUT_KEYS, secret_keys=secret),
                                   failures=_failures(failures))

    @_answers
    def Diff(self, request: proto.DiffRequest, context: grpc.ServicerContext) -> proto.DiffResponse:
        olds, news = properties.to_flat(request.olds), properties.to_flat(request.news)
        difference = self.backend.diff(request.id, olds.values, news.values)
        replaced = set(difference.replaces)
        detailed = {}
        for key in difference.changed:
            if key in replaced:
                kind = proto.PropertyDiff.UPDATE_REPLACE
            elif olds.values.get(key) in (None, "", []):
                kind = proto.PropertyDiff.ADD
            elif news.values.get(key) in (None, "", []):
                kind = proto.PropertyDiff.DELETE
            else:
                kind = proto.PropertyDiff.UPDATE
            detailed[camel(key)] = proto.PropertyDiff(kind=kind, inputDiff=True)
        return proto.DiffResponse(
            changes=proto.DiffResponse.DIFF_SOME if difference.changes else proto.DiffResponse.DIFF_NONE,
            replaces=[camel(k) for k in difference.replaces],
            diffs=[camel(k) for k in difference.changed],
            detailedDiff=detailed,
            hasDetailedDiff=True,
            deleteBeforeReplace=bool(difference.replaces),  # one connector per name: the old one goes first
        )

    @_answers
    def Create(self, request: proto.CreateRequest, context: grpc.ServicerContext) -> proto.CreateResponse:
        props = properties.to_flat(request.properties)
        connector_id, outs = self.backend.create(props.values, preview=request.preview,
                                                 configuration=configuration_of_urn(request.urn))
        return proto.CreateResponse(id=connector_id, properties=self._outputs(outs, props.secret))

    @_answers
    def Update(self, request: proto.UpdateRequest, context: grpc.ServicerContext) -> proto.UpdateResponse:
        olds, news = properties.to_flat(request.olds), properties.to_flat(request.news)
        outs = self.backend.update(request.id, olds.values, news.values, preview=request.preview)
        return proto.UpdateResponse(properties=self._outputs(outs, news.secret))

    @_answers
    def Read(self, request: proto.ReadRequest, context: grpc.ServicerContext) -> proto.ReadResponse:
        state, inputs = properties.to_flat(request.properties), properties.to_flat(request.inputs)
        read = self.backend.read(request.id, state.values, inputs.values)
        if read.connector_id is None:
            return proto.ReadResponse(id="")  # gone: refresh drops it from state
        secret = {*SECRET_OUTPUT_KEYS, *state.secret, *inputs.secret}
        return proto.ReadResponse(id=read.connector_id, properties=self._outputs(read.outputs, secret),
                                  inputs=properties.from_flat(read.inputs, PROGRAM_INPUT_KEYS, secret_keys=secret))

    @_answers
    def Delete(self, request: proto.DeleteRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.backend.delete(request.id, properties.to_flat(request.properties).values)
        return empty_pb2.Empty()

    @staticmethod
    def _outputs(outs: dict[str, Any], secret: set[str]) -> struct_pb2.Struct:
        return properties.from_flat(outs, OUTPUT_KEYS, secret_keys={*SECRET_OUTPUT_KEYS, *secret})

    # ------------------------------------------------------------------ the getConnector function
    @_answers
    def Invoke(self, request: proto.InvokeRequest, context: grpc.ServicerContext) -> proto.InvokeResponse:
        if request.tok != FUNCTION_TOKEN:
            raise BitbucketConnectorError(
                f"{PACKAGE} has no function {escape_control(request.tok)}; it has {FUNCTION_TOKEN}")
        args = properties.to_flat(request.args)
        if args.strangers:
            failures = [Failure("", f"{escape_control(n)} is not an argument of {FUNCTION_TOKEN}")
                        for n in args.strangers]
            return proto.InvokeResponse(failures=_failures(failures))
        found, failures = self.backend.lookup(args.values.get("connector_id"), args.values.get("name"))
        if failures:
            return proto.InvokeResponse(failures=_failures(failures))
        return proto.InvokeResponse(**{"return": properties.from_flat(found, LOOKUP_KEYS, secret_keys=())})
