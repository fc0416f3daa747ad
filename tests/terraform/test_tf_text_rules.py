"""Names, descriptions and tags with control characters, and huge values, through the Terraform provider.

Refused at validate/plan with a diagnostic on the attribute (never the value), and never written.
"""

from __future__ import annotations

import pytest
from tf.iface import ReadDataContext
from tf.utils import Diagnostics
from tf_helpers import TerraformSim, api_token_config

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_data_source import ConnectorDataSource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider

CASES = {
    "ESC in the name": ({"name": "bitbucket-main\x1b[31m"}, ["name"], "U+001B"),
    "RLO in the name": ({"name": "main\u202eniam"}, ["name"], "U+202E"),
    "BEL in the description": ({"description": "ding\x07"}, ["description"], "U+0007"),
    "PDI in the description": ({"description": "a\u2069b"}, ["description"], "U+2069"),
    "NUL in a tag": ({"tags": ["platform", "nul\x00"]}, ["tags", (1,)], "U+0000"),
    "LRM in a tag": ({"tags": ["\u200eprod"]}, ["tags", (0,)], "U+200E"),
}


def writes(emulator: Emulator) -> int:
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))


@pytest.mark.parametrize(("values", "path", "names"), CASES.values(), ids=list(CASES))
def test_control_characters_are_an_attribute_diagnostic_and_never_written(
    sim: TerraformSim, workspace: Emulator, sentinel: str, values: dict[str, object], path: list[object], names: str
) -> None:
    cfg = api_token_config(sentinel, **values)
    for diags in (sim.validate(cfg), sim.plan(None, cfg)[1]):
        (error,) = diags.diagnostics
        assert error.severity == "error" and error.path == path
        assert f"control characters ({names})" in error.detail
        assert not any(ch in error.summary + error.detail for ch in "\x1b\x07\x00\u202e\u2069\u200e")
    assert writes(workspace) == 0


def test_a_5_mb_value_is_shown_by_its_start_and_length(sim: TerraformSim, workspace: Emulator, sentinel: str) -> None:
    diags = sim.validate(api_token_config(sentinel, email="x" * 5_000_000))
    (error,) = diags.diagnostics
    assert error.path == ["email"] and "(5000000 characters)" in error.detail
    assert len(error.summary + error.detail) < 1000 and sentinel not in str(diags)
    assert writes(workspace) == 0


def test_a_long_name_looked_up_by_the_data_source_is_shortened(provider: SGBitbucketProvider) -> None:
    data_source = ConnectorDataSource(provider)
    diags = Diagnostics()
    cfg = {a.name: None for a in ConnectorDataSource.get_schema().attributes} | {"name": "n" * 20_000}
    assert data_source.read(ReadDataContext(diags, "sgbitbucket_connector"), cfg) is None
    (error,) = diags.diagnostics
    assert error.path == ["name"] and "(20000 characters)" in error.summary and len(error.summary) < 200
