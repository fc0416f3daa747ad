"""The plugin executable ``pulumi-resource-sgbitbucket``: starts the gRPC server, prints its port, serves.

The engine waits for the port line before anything else, and every `pulumi` command starts the
plugin at least once, so the port comes first: the server is up after importing `grpc` and the
SDK's protocol bindings only, and the service itself (:mod:`.service`: the backend, pydantic, the
engine) loads in a thread meanwhile; a request that arrives earlier waits for it.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from pulumi.runtime.proto import provider_pb2_grpc

from ... import __version__
from . import PACKAGE

# Threads for concurrent engine requests: a refresh reads ~10 connectors at once, an `up` of many
# writes as many as `--parallel` allows; the batched reads share one scan across these threads.
MAX_WORKERS = 16


class DeferredServicer(provider_pb2_grpc.ResourceProviderServicer):
    """Every RPC of the service, passed to the real servicer once it has loaded."""

    def __init__(self, engine_address: str | None) -> None:
        self._engine_address = engine_address
        self._real: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._real is None:
                from .service import ConnectorProviderServicer

                self._real = ConnectorProviderServicer(self._engine_address)
            return self._real


def _passed_on(name: str) -> Callable[..., Any]:
    def call(self: DeferredServicer, request: Any, context: grpc.ServicerContext) -> Any:
        return getattr(self.load(), name)(request, context)

    call.__name__ = name
    return call


for _rpc in ("GetPluginInfo", "GetSchema", "CheckConfig", "DiffConfig", "Configure", "Invoke", "Check", "Diff",
             "Create", "Read", "Update", "Delete", "Cancel", "Handshake", "Parameterize", "Call", "Construct",
             "Attach", "GetMapping", "GetMappings", "List"):
    setattr(DeferredServicer, _rpc, _passed_on(_rpc))


def serve(servicer: provider_pb2_grpc.ResourceProviderServicer, *, port: int = 0) -> tuple[grpc.Server, int]:
    """Start the server on loopback; the port is what the engine reads from our first stdout line."""
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_WORKERS), options=_GRPC_CHANNEL_OPTIONS)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound


def main(argv: list[str] | None = None) -> None:
    """`pulumi-resource-sgbitbucket ENGINE_ADDRESS [engine flags]`, as the Pulumi engine starts plugins."""
    from ...launcher import version_mismatch
    from .plugin_archive import EXECUTABLE, VERSION_REMEDY

    # One line on stdout, where the engine expects the port: the CLI quotes it ("wrote an invalid port").
    mismatch = version_mismatch(__version__, EXECUTABLE, VERSION_REMEDY)
    if mismatch:
        print(mismatch, flush=True)
        raise SystemExit(1)
    parser = argparse.ArgumentParser(prog=f"pulumi-resource-{PACKAGE}",
                                     description=f"The {PACKAGE} Pulumi resource provider (a plugin the Pulumi "
                                                 "CLI starts; not meant to be run by hand).")
    parser.add_argument("engine", nargs="?", help="address of the Pulumi engine's gRPC service")
    parser.add_argument("--version", action="version", version=f"{PACKAGE} {__version__}")
    known, _engine_flags = parser.parse_known_args(argv)
    servicer = DeferredServicer(known.engine)
    server, port = serve(servicer)
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    threading.Thread(target=servicer.load, name="load-service", daemon=True).start()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)


if __name__ == "__main__":
    main()
