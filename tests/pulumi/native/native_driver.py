"""Driving the native provider's gRPC service in this process, as the engine would (for unit tests).

`serve()` starts the real server on a loopback port; requests are built from flat camelCase
dicts, with secrets marked the way the engine marks them (the provider accepts secrets) and
unknowns as the engine's unknown value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.native.server import serve
from sg_bitbucket_iac.pulumi.native.service import ConnectorProviderServicer

URN = "urn:pulumi:test::native::sgbitbucket:index:Connector::main"
SECRET = {rpc._special_sig_key: rpc._special_secret_sig}
UNKNOWN = rpc.UNKNOWN
SECRET_KEYS = ("apiToken", "accessToken", "appPassword", "credentialsFingerprint")


def secret(value: Any) -> dict[str, Any]:
    return {**SECRET, "value": value}


def struct(values: Mapping[str, Any], *, secret_keys: tuple[str, ...] = SECRET_KEYS) -> struct_pb2.Struct:
    """Properties as the engine sends them to a provider that accepts secrets."""
    out = struct_pb2.Struct()
    out.update({k: secret(v) if k in secret_keys and v is not None and v != UNKNOWN else v
                for k, v in values.items()})
    return out


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """A returned struct as a dict (secrets still wrapped, to check their marking)."""
    return dict(MessageToDict(message))


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def unwrap(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v["value"] if is_secret(v) else v for k, v in values.items()}


def urn(name: str = "main", *, stack: str = "test", project: str = "native") -> str:
    """A Connector's URN as the engine writes it (the native provider's configuration identity)."""
    return f"urn:pulumi:{stack}::{project}::sgbitbucket:index:Connector::{name}"


class Driver:
    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub, servicer: ConnectorProviderServicer) -> None:
        self.stub = stub
        self.servicer = servicer  # in this process: a test reaches the backend's engine through it

    def configure(self, emulator: Emulator, **extra: Any) -> None:
        args = {"apiKey": secret("sgo_test_key"), "apiUrl": emulator.stackguardian_url, "org": "acme",
                "bitbucketApiUrl": emulator.bitbucket_url, **extra}
        request = proto.ConfigureRequest(acceptSecrets=True)
        request.args.update(args)
        response = self.stub.Configure(request)
        assert response.acceptSecrets and response.supportsPreview

    def check(self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None,
              name: str = "main", urn: str = URN) -> proto.CheckResponse:
        return self.stub.Check(proto.CheckRequest(urn=urn, news=struct(news), olds=struct(olds or {}), name=name,
                                                  type="sgbitbucket:index:Connector"))

    def diff(self, connector_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> proto.DiffResponse:
        return self.stub.Diff(proto.DiffRequest(urn=URN, id=connector_id, olds=struct(olds), news=struct(news)))

    def create(self, props: Mapping[str, Any], preview: bool = False, urn: str = URN) -> proto.CreateResponse:
        return self.stub.Create(proto.CreateRequest(urn=urn, properties=struct(props), preview=preview))

    def update(self, connector_id: str, olds: Mapping[str, Any], news: Mapping[str, Any],
               preview: bool = False) -> proto.UpdateResponse:
        return self.stub.Update(proto.UpdateRequest(urn=URN, id=connector_id, olds=struct(olds), news=struct(news),
                                                    preview=preview))

    def read(self, connector_id: str, props: Mapping[str, Any] | None = None,
             inputs: Mapping[str, Any] | None = None) -> proto.ReadResponse:
        return self.stub.Read(proto.ReadRequest(urn=URN, id=connector_id, properties=struct(props or {}),
                                                inputs=struct(inputs or {})))

    def delete(self, connector_id: str, props: Mapping[str, Any]) -> None:
        self.stub.Delete(proto.DeleteRequest(urn=URN, id=connector_id, properties=struct(props)))

    def invoke(self, token: str, args: Mapping[str, Any]) -> proto.InvokeResponse:
        return self.stub.Invoke(proto.InvokeRequest(tok=token, args=struct(args)))

    def plugin_info(self) -> proto.PluginInfo:
        return self.stub.GetPluginInfo(empty_pb2.Empty())


@contextmanager
def running() -> Iterator[Driver]:
    servicer = ConnectorProviderServicer(None)
    server, port = serve(servicer)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Driver(provider_pb2_grpc.ResourceProviderStub(channel), servicer)
    finally:
        channel.close()
        server.stop(None)
