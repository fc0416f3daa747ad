"""Long scans (listall over thousands of connectors) show progress on a terminal, and only there."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from sg_bitbucket_iac.cli.commands.common import Context


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_scan_counts_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    ctx = Context(argparse.Namespace(), environ={})
    assert ctx.scan(iter(range(3000)), "Reading connectors") == list(range(3000))
    assert "Reading connectors" in stderr.getvalue()


def test_scan_is_silent_in_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    ctx = Context(argparse.Namespace(), environ={})
    assert ctx.scan(iter(range(3000)), "Reading connectors") == list(range(3000))
    assert stderr.getvalue() == ""
