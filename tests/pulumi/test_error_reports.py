"""error_reports: only inside the SDK's dynamic-provider server, only for the provider's own errors."""

from __future__ import annotations

import importlib.machinery
import sys
import traceback
import types

import pytest

from sg_bitbucket_iac.pulumi import BitbucketConnectorError, error_reports


def fake_server(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A `__main__` shaped like pulumi.dynamic.__main__ (run with `python -m pulumi.dynamic`)."""
    server = types.ModuleType("__main__")
    server.__spec__ = importlib.machinery.ModuleSpec(error_reports.SERVER_MODULE, None)
    server.traceback = traceback  # type: ignore[attr-defined]
    server._abort_with_traceback = lambda fn: fn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", server)
    return server


def test_outside_the_provider_server_nothing_changes() -> None:
    assert error_reports.install(BitbucketConnectorError) is False  # pytest's __main__


def test_in_the_server_provider_errors_are_reported_by_their_message(monkeypatch: pytest.MonkeyPatch) -> None:
    server = fake_server(monkeypatch)
    assert error_reports.install(BitbucketConnectorError) is True
    assert error_reports.install(BitbucketConnectorError) is True  # idempotent
    try:
        raise BitbucketConnectorError("create: connector x: request rejected (400)")
    except BitbucketConnectorError:
        assert server.traceback.format_exc() == "create: connector x: request rejected (400)"
    try:
        raise KeyError("__provider")  # an SDK failure keeps its traceback
    except KeyError:
        assert server.traceback.format_exc().startswith("Traceback (most recent call last):")
    assert server.traceback.TracebackException is traceback.TracebackException


def test_an_sdk_of_another_shape_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    server = fake_server(monkeypatch)
    del server._abort_with_traceback
    assert error_reports.install(BitbucketConnectorError) is False
    assert server.traceback is traceback
