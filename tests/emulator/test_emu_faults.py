"""Fault injection and request statistics, driven through the admin API over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from emu_helpers import ORG, SG, TIMEOUT, access_token_config, integration

from sg_bitbucket_iac.emulator import Emulator, EmulatorAdminError

CREATE_PATH = r"/integrations/?$"
LISTALL_ROUTE = "GET /api/v1/orgs/{org}/integrations/listall/"
CREATE_ROUTE = "POST /api/v1/orgs/{org}/integrations/"


def add_fault(emulator: Emulator, **fault: Any) -> dict[str, Any]:
    return emulator.admin("POST", "/faults", fault)["fault"]


def statuses(call: Callable[[], requests.Response], count: int) -> list[int]:
    return [call().status_code for _ in range(count)]


def test_status_for_a_number_of_times(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", status=503, times=2)
    assert statuses(sg.listall, 3) == [503, 503, 200]
    assert emulator.admin("GET", "/faults")["faults"] == []


def test_faults_play_as_a_queue(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", status=429, times=1)
    add_fault(emulator, api="stackguardian", path_regex="listall", status=503, times=1)
    assert statuses(sg.listall, 3) == [429, 503, 200]


def test_fault_without_times_lasts_until_deleted(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", status=500)
    assert statuses(sg.listall, 4) == [500] * 4
    emulator.admin("DELETE", "/faults")
    assert sg.listall().status_code == 200


def test_default_stackguardian_fault_body(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", status=503, times=1)
    response = sg.listall()
    assert response.json() == {"msg": "Service Unavailable"}
    assert response.headers["Content-Type"] == "application/json"


def test_method_filter(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex=CREATE_PATH, method="post", status=500)
    assert sg.listall().status_code == 200
    assert sg.create(integration("x", access_token_config("t"))).status_code == 500


def test_probability(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory(random_seed=7)
    sg = SG(emulator)
    add_fault(emulator, api="stackguardian", path_regex="listall", status=503, probability=0)
    assert statuses(sg.listall, 10) == [200] * 10
    add_fault(emulator, api="stackguardian", path_regex="listall", status=503, probability=0.5, reset=True)
    failures = statuses(sg.listall, 60).count(503)
    assert 0 < failures < 60


def test_latency_only_fault_delays_without_changing_the_answer(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", latency_ms=2000, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sg.session.get(sg.base + "listall/", timeout=0.2)
    assert sg.listall().status_code == 200  # the rule was used up


def test_latency_adds_to_a_status_fault(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", latency_ms=2000, status=503, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sg.session.get(sg.base + "listall/", timeout=0.2)


def test_drop_closes_the_connection_before_the_handler(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex=CREATE_PATH, method="POST", drop=True, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sg.create(integration("x", access_token_config("t")))
    assert sg.get("x").status_code == 404
    assert sg.create(integration("x", access_token_config("t"))).status_code == 200


def test_drop_after_the_write_was_stored(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex=CREATE_PATH, method="POST", drop=True, after=True, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sg.create(integration("x", access_token_config("t")))
    assert sg.get("x").status_code == 200
    assert sg.create(integration("x", access_token_config("t"))).json() == {"msg": "Connector x already exists"}


def test_status_after_the_write_was_stored(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex=CREATE_PATH, method="POST", status=503, after=True, times=1)
    assert sg.create(integration("x", access_token_config("t"))).status_code == 503
    assert sg.get("x").status_code == 200


def test_custom_body_headers_and_content_type(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="stackguardian", path_regex="listall", status=429, times=2,
              body={"msg": "slow down"}, headers={"Retry-After": "1"})
    response = sg.listall()
    assert (response.status_code, response.json(), response.headers["Retry-After"]) == (429, {"msg": "slow down"}, "1")
    add_fault(emulator, api="stackguardian", path_regex="listall", status=502, times=1, reset=True,
              body="<html>Bad Gateway</html>", content_type="text/html")
    response = sg.listall()
    assert (response.status_code, response.text, response.headers["Content-Type"]) == (
        502, "<html>Bad Gateway</html>", "text/html")


def test_bitbucket_429_is_plain_text_without_retry_after(emulator: Emulator) -> None:
    add_fault(emulator, api="bitbucket", path_regex="^/2.0/user$", status=429, times=1)
    response = requests.get(f"{emulator.bitbucket_url}/user", timeout=TIMEOUT)
    assert response.status_code == 429
    assert response.text == "Rate limit for this resource has been exceeded"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "Retry-After" not in response.headers


def test_bitbucket_5xx_uses_the_bitbucket_error_shape(emulator: Emulator) -> None:
    add_fault(emulator, api="bitbucket", path_regex="/2.0/", status=503, times=1)
    response = requests.get(f"{emulator.bitbucket_url}/user", timeout=TIMEOUT)
    assert response.json() == {"type": "error", "error": {"message": "Service Unavailable"}}


def test_faults_of_one_api_leave_the_other_alone(emulator: Emulator, sg: SG) -> None:
    add_fault(emulator, api="bitbucket", path_regex=".*", status=500)
    assert sg.listall().status_code == 200


def test_reset_list_and_remove(emulator: Emulator) -> None:
    first = add_fault(emulator, api="stackguardian", path_regex="a", status=500)
    second = add_fault(emulator, api="stackguardian", path_regex="b", status=500, reset=True)
    listed = emulator.admin("GET", "/faults")["faults"]
    assert [f["id"] for f in listed] == [second["id"]] and first["id"] != second["id"]
    assert listed[0]["probability"] == 1.0 and listed[0]["times"] is None
    emulator.admin("DELETE", f"/faults/{second['id']}")
    assert emulator.admin("GET", "/faults")["faults"] == []
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("DELETE", f"/faults/{second['id']}")
    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"api": "github", "path_regex": "x", "status": 500}, "`api`"),
        ({"api": "bitbucket", "path_regex": "(", "status": 500}, "regular expression"),
        ({"api": "bitbucket", "path_regex": "x"}, "needs `status`"),
        ({"api": "bitbucket", "path_regex": "x", "status": 700}, "`status`"),
        ({"api": "bitbucket", "path_regex": "x", "status": 500, "probability": 2}, "`probability`"),
        ({"api": "bitbucket", "path_regex": "x", "status": 500, "times": 0}, "`times`"),
        ({"api": "bitbucket", "path_regex": "x", "status": 500, "color": "red"}, "unknown fault keys: color"),
    ],
)
def test_invalid_faults_are_400(emulator: Emulator, fault: dict[str, Any], message: str) -> None:
    with pytest.raises(EmulatorAdminError) as raised:
        emulator.admin("POST", "/faults", fault)
    assert raised.value.status == 400
    assert message in raised.value.msg


# --------------------------------------------------------------------------- stats
def test_stats_shape_counts_fault_injected_requests_and_resets(emulator: Emulator, sg: SG) -> None:
    empty = {"total": 0, "by_method": {}, "by_route": {}, "in_flight": 0}
    emulator.admin("DELETE", "/stats")
    assert emulator.admin("GET", "/stats") == {"stackguardian": empty, "bitbucket": empty}
    add_fault(emulator, api="stackguardian", path_regex="listall", status=503, times=1)
    add_fault(emulator, api="stackguardian", path_regex=CREATE_PATH, drop=True, times=1)
    sg.listall()
    sg.listall()
    with pytest.raises(requests.exceptions.ConnectionError):
        sg.create(integration("x", access_token_config("t")))
    sg.create(integration("x", access_token_config("t")))
    sg.get("x")
    requests.get(f"{emulator.bitbucket_url}/user", timeout=TIMEOUT)
    stats = emulator.admin("GET", "/stats")
    assert stats["stackguardian"] == {
        "total": 5,
        "by_method": {"GET": 3, "POST": 2},
        "by_route": {
            LISTALL_ROUTE: 2,
            CREATE_ROUTE: 2,
            "GET /api/v1/orgs/{org}/integrations/{integration}/": 1,
        },
        "in_flight": 0,  # every request above has had its answer
    }
    assert stats["bitbucket"]["total"] == 1 and stats["bitbucket"]["by_method"] == {"GET": 1}
    assert emulator.admin("DELETE", "/stats") == {"stackguardian": empty, "bitbucket": empty}
    assert emulator.admin("GET", "/stats")["stackguardian"]["total"] == 0


def test_stats_count_a_request_in_flight_until_its_slow_answer_is_sent(emulator: Emulator) -> None:
    """A write whose client gave up waiting is still being answered: `in_flight` says so until it lands."""
    import threading

    add_fault(emulator, api="stackguardian", path_regex="listall", latency_ms=600, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{emulator.stackguardian_url}/api/v1/orgs/acme/integrations/listall/",
                     headers={"Authorization": "apikey sgo_test_key"}, timeout=0.1)
    assert emulator.admin("GET", "/stats")["stackguardian"]["in_flight"] == 1
    waits = 0
    while emulator.admin("GET", "/stats")["stackguardian"]["in_flight"] and waits < 100:
        threading.Event().wait(0.05)  # the slow answer is 0.6 s away; 5 s at most
        waits += 1
    assert emulator.admin("GET", "/stats")["stackguardian"] == {
        "total": 1, "by_method": {"GET": 1}, "by_route": {LISTALL_ROUTE: 1}, "in_flight": 0}


def test_unauthorised_requests_are_counted_too(emulator: Emulator) -> None:
    emulator.admin("DELETE", "/stats")
    SG(emulator, ORG, None).listall()
    assert emulator.admin("GET", "/stats")["stackguardian"]["by_route"] == {LISTALL_ROUTE: 1}
