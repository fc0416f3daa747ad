"""One parse decides where a request goes (urls.py): the known differentials between urllib.parse and
urllib3, what a base URL may be, what a message shows of one, and the prefix every built URL keeps."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from loopback_recorder import LoopbackRecorder, network_guard  # noqa: F401 - a fixture
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from sg_bitbucket_iac.bitbucket import BitbucketClient
from sg_bitbucket_iac.errors import ConfigurationError, IdentifierError, UnsafeValueError
from sg_bitbucket_iac.http import PolicySession, redirect_allowed
from sg_bitbucket_iac.settings import Settings
from sg_bitbucket_iac.stackguardian import StackGuardianClient
from sg_bitbucket_iac.urls import BaseUrl, join_path, parse_base_url, shown_url

SECRET = "SENTINEL-url-0123456789"


def _reads(url: str) -> tuple[str | None, int | None] | str:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port
    except ValueError as error:
        return f"refused: {error}"


def _connects(url: str) -> tuple[str | None, int | None] | str:
    try:
        parts = parse_url(url)
        return (parts.host or "").strip("[]") or None, parts.port
    except LocationParseError as error:
        return f"refused: {error}"


# The known differentials: the two parsers name different hosts (or only one accepts the URL).
DIFFERENTIALS = [
    "http://127.0.0.1:1\\@evil.example/",  # urllib.parse: evil.example; urllib3: 127.0.0.1
    "http://evil.example\\@127.0.0.1:1/",  # urllib.parse: loopback; urllib3 connects to evil.example
    "http://%31%32%37.0.0.1/",  # urllib3 decodes the escapes to 127.0.0.1
    "http://127.0.0.1\t/",  # urllib.parse drops the tab; urllib3 refuses
    "http://\u2460\u2461\u2466.0.0.1/",  # urllib.parse keeps it; urllib3 refuses (IDNA)
    "http://127.0.0.1:\uff10/",  # a fullwidth digit
]


@pytest.mark.parametrize("url", DIFFERENTIALS)
def test_each_known_differential_is_real_and_refused(url: str) -> None:
    assert _reads(url) != _connects(url)  # the two parsers really disagree here
    with pytest.raises(ConfigurationError):
        parse_base_url(url, "api_url")


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:1\\@evil.example/", "backslash"),
    ("http://user:pass@127.0.0.1:1/", "userinfo"),
    ("https://" + SECRET + "@api.app.stackguardian.io", "userinfo"),
    ("https://api.app.stackguardian.io/?key=" + SECRET, "query"),
    ("https://api.app.stackguardian.io/#" + SECRET, "fragment"),
    ("https://api.app.stackguardian.io/a b", "whitespace"),
    ("https://api.app\u00a0stackguardian.io", "whitespace"),
    ("ftp://api.app.stackguardian.io", "http(s)"),
    ("file:///etc/passwd", "http(s)"),
    ("javascript:alert(1)", "http(s)"),
    ("https://api.bitbucket.org/2.0/../admin", "'..'"),
    ("https://api.bitbucket.org//2.0", "empty"),
    ("https://api.bitbucket.org/2.0%2f..", "%-escapes"),
    ("https://xn--ls8h.example:0", "port 0"),
    ("https://h:99999", "port cannot be parsed"),
    ("http://sg.example.com", "non-loopback"),
    ("http://127.1:8080", "non-loopback"),  # a resolver may read it as loopback; counted remote, so refused
    ("http://localhost.:8080", "non-loopback"),
])
def test_ambiguous_and_leaky_base_urls_are_refused_showing_no_userinfo_or_query(url: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(api_url=url, environ={})
    text = str(caught.value)
    assert text.startswith("api_url=") and why.split()[0].strip("'") in text
    assert SECRET not in text and "user:pass@" not in text


def test_control_characters_are_unsafe_values_and_never_shown_raw() -> None:
    with pytest.raises(UnsafeValueError) as caught:
        parse_base_url("http://127.0.0.1:1\x1b[31m", "SG_BASE_URL")
    assert "\x1b" not in str(caught.value) and "SG_BASE_URL" in str(caught.value)


def test_the_environment_variable_a_url_came_from_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"^SG_BASE_URL=http://\*\*\*\*@127\.0\.0\.1:1 is refused"):
        Settings.resolve(environ={"SG_BASE_URL": "http://evil.example\\@127.0.0.1:1"})
    with pytest.raises(ConfigurationError, match=r"^BITBUCKET_API_URL=https://\*\*\*\*@api"):
        Settings.resolve(environ={"BITBUCKET_API_URL": "https://u:p@api.bitbucket.org/2.0"})


@pytest.mark.parametrize(("url", "expected", "loopback"), [
    ("https://api.app.stackguardian.io/", "https://api.app.stackguardian.io", False),
    (" https://api.bitbucket.org/2.0/ \n", "https://api.bitbucket.org/2.0", False),
    ("HTTP://LocalHost:8080/2.0", "http://localhost:8080/2.0", True),
    ("http://127.0.0.1:5", "http://127.0.0.1:5", True),
    ("http://[::1]:5/", "http://[::1]:5", True),
    ("http://emu.localhost:5", "http://emu.localhost:5", True),
    ("https://0x7f.1", "https://0x7f.1", False),
])
def test_one_parse_decides_host_loopback_proxy_and_plain_http(url: str, expected: str, loopback: bool) -> None:
    base = parse_base_url(url, "api_url")
    assert str(base) == expected
    assert base.loopback is loopback and base.plain_http_allowed is loopback and base.proxy_allowed is not loopback
    assert parse_url(str(base)).host == base.host  # what the rest of the code reads is what urllib3 connects to


def test_messages_show_no_userinfo_query_or_fragment() -> None:
    assert shown_url(f"https://alice:{SECRET}@h.example/p?token={SECRET}#{SECRET}") == "https://****@h.example/p"
    assert shown_url("http://127.0.0.1:1\\@evil.example/x") == "http://****@evil.example/x"
    assert shown_url(f"alice:{SECRET}@h.example/2.0") == "****@h.example/2.0"  # no scheme: still no userinfo
    assert SECRET not in shown_url(f"https://h/{'a' * 500}?{SECRET}")
    assert "\x1b" not in shown_url("https://h/\x1b[2J")


def test_a_loopback_base_is_never_proxied_and_an_ambiguous_url_never_counts_as_loopback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = PolicySession()
    assert session.merge_environment_settings("http://127.0.0.1:9/x", {}, None, None, None)["proxies"] == {}
    # urllib.parse reads 127.0.0.1 here; urllib3 would connect to evil.example: not loopback, so not exempted.
    ambiguous = session.merge_environment_settings("http://evil.example\\@127.0.0.1:9/", {}, None, None, None)
    assert ambiguous["proxies"].get("http") == "http://proxy.internal:3128"


def test_a_redirect_to_an_ambiguous_url_is_never_followed() -> None:
    assert not redirect_allowed("GET", "http://127.0.0.1:9/a", "http://evil.example\\@127.0.0.1:9/b")
    assert not redirect_allowed("GET", "http://127.0.0.1:9/a", "http://127.0.0.1:9\\@evil.example/b")
    assert redirect_allowed("GET", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b")


def test_join_path_refuses_what_would_leave_the_prefix() -> None:
    base = BaseUrl("http", "127.0.0.1", 9, "")
    prefix = ("api", "v1", "orgs", "acme", "integrations")
    assert join_path(base, prefix, ("x",), trailing_slash=True) == "http://127.0.0.1:9/api/v1/orgs/acme/integrations/x/"
    for segment in ("..", ".", ""):
        with pytest.raises(IdentifierError, match="would leave /api/v1/orgs/acme/integrations/"):
            join_path(base, prefix, (segment,), trailing_slash=True, names=("connector_id",))


def test_bitbucket_next_links_are_followed_only_on_the_api_origin_and_under_its_path(
        network_guard: list[str]) -> None:  # noqa: F811 - the fixture
    client = BitbucketClient("http://127.0.0.1:9/2.0", "Bearer x")
    try:
        assert client.may_follow("http://127.0.0.1:9/2.0/user/workspaces?page=2")
        for link in ("http://127.0.0.1:10/2.0/user", "https://127.0.0.1:9/2.0/user", "http://evil.example/2.0/user",
                     "http://127.0.0.1:9/other", "http://127.0.0.1:9/2.0/../admin", "http://127.0.0.1:9\\@evil/2.0/",
                     "http://evil\\@127.0.0.1:9/2.0/", "http://u:p@127.0.0.1:9/2.0/", "http://127.0.0.1:9/2.0 /x"):
            assert not client.may_follow(link), link
            with pytest.raises(ValueError):
                client.get(link)
    finally:
        client.close()
    assert network_guard == []


def test_a_client_built_on_a_refused_url_does_not_exist(network_guard: list[str]) -> None:  # noqa: F811
    for build in (lambda url: StackGuardianClient(url, "sgo_" + SECRET, "acme"),
                  lambda url: BitbucketClient(url + "/2.0", "Bearer " + SECRET)):
        for url in DIFFERENTIALS[:2]:
            with pytest.raises(ConfigurationError) as caught:
                build(url)
            assert SECRET not in str(caught.value)
    assert network_guard == []


def test_the_recorder_sees_a_request_line_exactly_as_sent() -> None:
    """The recorder the front tests rely on records raw targets (nothing normalised on its side)."""
    import http.client

    server = LoopbackRecorder()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=5)
        connection.request("DELETE", "/api/v1/orgs/acme/integrations/../")
        connection.getresponse().read()
        connection.close()
        sent = [(line.method, line.target) for line in server.lines]
        assert sent == [("DELETE", "/api/v1/orgs/acme/integrations/../")]
        assert server.outside("/api/v1/orgs/acme/integrations/") == server.lines
    finally:
        server.close()

