"""Helpers for the emulator's own tests: raw HTTP calls with `requests`, no product client.

Imported by the test modules beside it (pytest puts this directory on sys.path).
"""

from __future__ import annotations

from typing import Any

import requests

from sg_bitbucket_iac.emulator import Emulator

ORG = "acme"
API_KEY = "sgo_test_key"
TIMEOUT = 30


class SG:
    """Calls to the emulated StackGuardian connector API for one org and key."""

    def __init__(self, emulator: Emulator, org: str = ORG, api_key: str | None = API_KEY) -> None:
        self.base = f"{emulator.stackguardian_url}/api/v1/orgs/{org}/integrations/"
        self.session = requests.Session()
        if api_key is not None:
            self.session.headers["Authorization"] = f"apikey {api_key}"

    def create(self, body: dict[str, Any]) -> requests.Response:
        return self.session.post(self.base, json=body, timeout=TIMEOUT)

    def get(self, connector_id: str) -> requests.Response:
        return self.session.get(f"{self.base}{connector_id}/", timeout=TIMEOUT)

    def patch(self, connector_id: str, body: dict[str, Any]) -> requests.Response:
        return self.session.patch(f"{self.base}{connector_id}/", json=body, timeout=TIMEOUT)

    def delete(self, connector_id: str) -> requests.Response:
        return self.session.delete(f"{self.base}{connector_id}/", timeout=TIMEOUT)

    def listall(self, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base}listall/", params=params, timeout=TIMEOUT)


def api_token_config(secret: str, user: str = "alice", email: str = "alice@acme.io") -> dict[str, Any]:
    return {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"{user}:{secret}", "bitbucketEmail": email}


def access_token_config(secret: str) -> dict[str, Any]:
    return {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": secret}


def app_password_config(secret: str, user: str = "alice") -> dict[str, Any]:
    return {"bitbucketAuthType": "APP_PASSWORD", "bitbucketCreds": f"{user}:{secret}"}


def integration(name: str, config: dict[str, Any], kind: str = "BITBUCKET_ORG", **extra: Any) -> dict[str, Any]:
    """An `Integration` create body."""
    return {"ResourceName": name, "Settings": {"kind": kind, "config": [config]}, **extra}
