"""Which Terraform configuration runs the provider (terraform/configuration.py): workspace and state location."""

from __future__ import annotations

import json
from pathlib import Path

from sg_bitbucket_iac.terraform.configuration import configuration_identity


def backend(root: Path, kind: str, **config: object) -> None:
    data_dir = root / ".terraform"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "terraform.tfstate").write_text(json.dumps({
        "version": 3, "backend": {"type": kind, "config": {**config, "unset_option": None}, "hash": 1}}))


def test_local_state_is_named_by_the_root_module_folder_and_the_workspace(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    assert configuration_identity({}, one) != configuration_identity({}, two)
    default = configuration_identity({}, one)
    assert json.loads(default)["workspace"] == "default"
    (one / ".terraform").mkdir()
    (one / ".terraform" / "environment").write_text("staging")  # `terraform workspace select staging`
    assert json.loads(configuration_identity({}, one))["workspace"] == "staging"
    assert json.loads(configuration_identity({"TF_WORKSPACE": "prod"}, one))["workspace"] == "prod"


def test_a_remote_backend_is_the_same_on_every_machine(tmp_path: Path) -> None:
    laptop, runner = tmp_path / "laptop" / "infra", tmp_path / "ci" / "build-17" / "infra"
    for root in (laptop, runner):
        root.mkdir(parents=True)
        backend(root, "s3", bucket="tf-state", key="connectors.tfstate", region="eu-west-1")
    assert configuration_identity({}, laptop) == configuration_identity({}, runner)
    backend(runner, "s3", bucket="tf-state", key="other.tfstate", region="eu-west-1")
    assert configuration_identity({}, laptop) != configuration_identity({}, runner)


def test_the_data_folder_follows_tf_data_dir_and_odd_files_are_ignored(tmp_path: Path) -> None:
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    (elsewhere / "environment").write_text("blue\n")
    assert json.loads(configuration_identity({"TF_DATA_DIR": str(elsewhere)}, tmp_path))["workspace"] == "blue"
    (tmp_path / ".terraform").mkdir()
    (tmp_path / ".terraform" / "terraform.tfstate").write_text("not json")
    assert json.loads(configuration_identity({}, tmp_path))["state"] == {"local": str(tmp_path.resolve())}
