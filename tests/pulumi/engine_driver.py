"""An engine-like gRPC driver for Python dynamic providers, for tests (no Pulumi CLI needed).

Kept only where it tests what the real Pulumi CLI cannot reach quickly: the end-to-end tier
(tests/e2e/test_pulumi_*.py) runs every lifecycle under `pulumi` v3.274.1; this driver stays for
wire-level checks (the pickled ``__provider`` blob, unknowns reaching Check, exact request counts),
concurrent calls into one provider process, and properties the engine would never send. It also
keeps those checks on a laptop without the engines, where the e2e tier is skipped.

Adapted from a harness written for this project's research notes (checked with pulumi 3.272.0),
which follows ``pulumi/dynamic/__main__.py`` of the Pulumi Python SDK and the Go engine's
``provider_plugin.go`` (Apache-2.0, Pulumi Corporation). The whole driver lives here, so the suite
depends on no file outside the repository.

What it reproduces of the engine:

* it starts ``python -u -m pulumi.dynamic`` as the CLI's ``pulumi-resource-pulumi-python`` shim
  does (``PYTHONPATH`` so the provider module imports by reference, ``PULUMI_PROJECT``), reads the
  port it prints, and talks to it with the SDK's generated stubs;
* Configure first, with the whole namespaced stack config (secrets wrapped);
* secrets stripped from every request (the server answers ``acceptSecrets=False``), outputs
  re-marked by :func:`annotate_secrets` (a port of Go ``annotateSecrets``), and the resource's
  ``additional_secret_outputs`` applied after that (``step_executor.go``);
* ``__provider`` added to every request's properties, secret like ``dynamic.Resource`` does.

What it does not do: decide when to diff, update or replace (the tests spell out the sequences).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import provider_pb2_grpc

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROVIDER_KEY = "__provider"


# --------------------------------------------------------------------------- wire encoding
def secret(value: Any) -> dict[str, Any]:
    """The engine's wire encoding of a secret value inside a Struct."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def strip_secrets(value: Any) -> Any:
    """What the engine sends a provider that does not accept secrets (every Python dynamic provider)."""
    if is_secret(value):
        return strip_secrets(value["value"])
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def contains_secrets(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secrets(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secrets(v) for v in value)
    return False


def annotate_secrets(outs: Mapping[str, Any], ins: Mapping[str, Any]) -> dict[str, Any]:
    """Port of Go ``annotateSecrets(outs, ins)``: an output whose key matches a secret input is secret."""
    result = dict(outs)
    for key, in_value in ins.items():
        if key not in result:
            continue
        out_value = result[key]
        if (
            isinstance(out_value, dict)
            and not is_secret(out_value)
            and isinstance(in_value, dict)
            and not is_secret(in_value)
        ):
            result[key] = annotate_secrets(out_value, in_value)
        elif not is_secret(out_value) and contains_secrets(in_value):
            result[key] = secret(out_value)
    return result


def mark_secret_outputs(outs: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The engine's handling of ``additional_secret_outputs`` (after annotateSecrets)."""
    result = dict(outs)
    for key in keys:
        if key in result and not is_secret(result[key]):
            result[key] = secret(result[key])
    return result


def plain_strings(value: Any) -> Iterator[str]:
    """Every string that is NOT inside a secret: what the CLI would print and state would keep in clear."""
    if is_secret(value):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from plain_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_strings(item)


def to_struct(d: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(d))
    return s


def from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    """Wire-level view: secrets stay sig-key dicts, numbers are floats."""
    return json_format.MessageToDict(s)


# --------------------------------------------------------------------------- the provider process
class DynamicProviderServer:
    """``python -u -m pulumi.dynamic`` in a subprocess, with the ResourceProvider stub."""

    def __init__(
        self, *, pythonpath: Iterable[str], project: str, cwd: str, env: Mapping[str, str] | None = None
    ) -> None:
        environment = dict(os.environ if env is None else env)
        environment["PYTHONPATH"] = os.pathsep.join([*pythonpath, environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        environment["PULUMI_PROJECT"] = project
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=cwd,
        )
        self.channel: grpc.Channel | None = None
        self.stderr: str | None = None
        try:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().decode().strip()
            if not line.isdigit():
                raise RuntimeError(f"the dynamic provider server printed no port: {line!r}")
            self.port = int(line)
            self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            grpc.channel_ready_future(self.channel).result(timeout=15)
            self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        except BaseException:
            self.close()
            raise

    def close(self) -> str:
        """Stop the server (idempotent); returns what it wrote on stderr (the CLI would show it)."""
        if self.stderr is not None:
            return self.stderr
        if self.channel is not None:
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.stderr = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.stderr


class EngineLikeClient:
    """Calls the provider as the engine does. Every dict in and out is wire-level (sig-key secrets)."""

    def __init__(
        self,
        server: DynamicProviderServer,
        provider_blob: str,
        type_token: str,
        *,
        project: str = "test",
        stack: str = "dev",
        additional_secret_outputs: Iterable[str] = (),
    ) -> None:
        self.stub = server.stub
        self.blob = provider_blob
        self.type_token = type_token
        self.urn_prefix = f"urn:pulumi:{stack}::{project}::{type_token}::"
        self.additional_secret_outputs = tuple(additional_secret_outputs)

    def urn(self, name: str) -> str:
        return self.urn_prefix + name

    @staticmethod
    def _props(d: Mapping[str, Any]) -> struct_pb2.Struct:
        return to_struct(strip_secrets(dict(d)))

    def _outputs(self, outs: dict[str, Any], ins: Mapping[str, Any]) -> dict[str, Any]:
        return mark_secret_outputs(annotate_secrets(outs, ins), self.additional_secret_outputs)

    def configure(self, config: Mapping[str, Any]) -> Any:
        """The whole stack config, keys namespaced (`stackguardian:apiKey`), secrets wrapped."""
        return self.stub.Configure(
            proto.ConfigureRequest(args=to_struct(config), acceptSecrets=True, acceptResources=True)
        )

    def plugin_info(self) -> Any:
        return self.stub.GetPluginInfo(empty_pb2.Empty())

    def check(
        self, name: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """`olds` are the previous inputs ({} on create/replace), `news` the program's inputs."""
        news = {**news, PROVIDER_KEY: secret(self.blob)}
        olds = {**olds, PROVIDER_KEY: secret(self.blob)} if olds else {}
        resp = self.stub.Check(proto.CheckRequest(urn=self.urn(name), olds=self._props(olds), news=self._props(news)))
        inputs = annotate_secrets(from_struct(resp.inputs), news)
        return inputs, [(f.property, f.reason) for f in resp.failures]

    def diff(
        self,
        name: str,
        id_: str,
        old_outs: Mapping[str, Any],
        new_inputs: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        resp = self.stub.Diff(
            proto.DiffRequest(
                id=id_,
                urn=self.urn(name),
                olds=self._props(old_outs),
                news=self._props(new_inputs),
                old_inputs=self._props(old_inputs or {}),
            )
        )
        return {
            "changes": proto.DiffResponse.DiffChanges.Name(resp.changes),
            "replaces": list(resp.replaces),
            "deleteBeforeReplace": resp.deleteBeforeReplace,
        }

    def create(self, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        resp = self.stub.Create(proto.CreateRequest(urn=self.urn(name), properties=self._props(inputs), timeout=60))
        return resp.id, self._outputs(from_struct(resp.properties), inputs)

    def read(
        self, name: str, id_: str, outs: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        resp = self.stub.Read(
            proto.ReadRequest(id=id_, urn=self.urn(name), properties=self._props(outs), inputs=self._props(inputs))
        )
        new_outs = mark_secret_outputs(
            annotate_secrets(annotate_secrets(from_struct(resp.properties), inputs), outs),
            self.additional_secret_outputs,
        )
        new_inputs = annotate_secrets(from_struct(resp.inputs), inputs) if resp.HasField("inputs") else None
        return resp.id, new_outs, new_inputs

    def update(
        self,
        name: str,
        id_: str,
        old_outs: Mapping[str, Any],
        new_inputs: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        resp = self.stub.Update(
            proto.UpdateRequest(
                id=id_,
                urn=self.urn(name),
                olds=self._props(old_outs),
                news=self._props(new_inputs),
                old_inputs=self._props(old_inputs or {}),
                timeout=60,
            )
        )
        return self._outputs(from_struct(resp.properties), new_inputs)

    def delete(self, name: str, id_: str, outs: Mapping[str, Any], old_inputs: Mapping[str, Any] | None = None) -> None:
        self.stub.Delete(
            proto.DeleteRequest(
                id=id_,
                urn=self.urn(name),
                properties=self._props(outs),
                old_inputs=self._props(old_inputs or {}),
                timeout=60,
            )
        )
