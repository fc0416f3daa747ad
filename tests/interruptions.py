"""A create that StackGuardian stores while the run that sent it never learns so (a uniquely named helper module).

Used by the Terraform and Pulumi suites: the emulator's faults store the POST and drop its answer
(``after`` + ``drop``), and make the look-up that follows fail (503), on a client without retries,
so the run ends with an error and the stored connector in no state: what a killed apply leaves.
"""

from __future__ import annotations

from typing import Any

import pytest

from sg_bitbucket_iac.batch_read import BatchedClient
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.engine import Engine


def lose_the_next_create(engine: Engine, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """``engine``'s next create is stored, its answer dropped, and every look-up after it fails."""
    client = BatchedClient.from_settings(engine.settings, retries=0, backoff=0.0)
    create = client.create

    def create_losing_the_answer(payload: Any, **kwargs: Any) -> Any:
        connector_id = payload["Id"]
        emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "POST", "path_regex": r"integrations/?$",
                                           "after": True, "drop": True, "times": 1})
        emulator.admin("POST", "/faults", {"api": "stackguardian", "method": "GET",
                                           "path_regex": rf"integrations/{connector_id}/?$", "status": 503})
        try:
            return create(payload, **kwargs)
        finally:
            emulator.admin("DELETE", "/faults")

    monkeypatch.setattr(client, "create", create_losing_the_answer)
    monkeypatch.setattr(engine, "_client", client)
