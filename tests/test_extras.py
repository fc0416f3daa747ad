"""A missing extra names its install command instead of a ModuleNotFoundError traceback."""

from __future__ import annotations

import importlib
import sys

import pytest

from sg_bitbucket_iac.errors import MissingExtraError
from sg_bitbucket_iac.extras import require_extra


@pytest.mark.parametrize(("extra", "module"), [("pulumi", "pulumi"), ("terraform", "tf")])
def test_a_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch, extra: str, module: str) -> None:
    require_extra(extra)  # installed here (the dev extra)
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like to the import system
    with pytest.raises(MissingExtraError) as caught:
        require_extra(extra)
    assert f"pip install 'sg-bitbucket-iac[{extra}]'" in str(caught.value)


def test_importing_the_pulumi_front_without_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pulumi", None)
    for name in [n for n in sys.modules if n.startswith("sg_bitbucket_iac.pulumi")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(MissingExtraError, match=r"pip install 'sg-bitbucket-iac\[pulumi\]'"):
        importlib.import_module("sg_bitbucket_iac.pulumi")


def test_the_terraform_plugin_without_tf(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from sg_bitbucket_iac.terraform import main

    monkeypatch.setitem(sys.modules, "tf", None)
    with pytest.raises(SystemExit) as stopped:
        main.main([])
    assert stopped.value.code == 1
    # On stdout, before the handshake: Terraform shows that line ("Unrecognized remote plugin message").
    assert "pip install 'sg-bitbucket-iac[terraform]'" in capsys.readouterr().out
