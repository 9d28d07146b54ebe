"""The URL rules, on their own (no DNS, no connection): bad URLs and host spellings refused."""

from __future__ import annotations

import pytest
import yarl

from webhooks._exceptions import CallFailed, DestinationBlocked, InvalidURL
from webhooks.egress._rules import EgressRules
from webhooks.egress._urls import MAX_URL_LENGTH, check_url, url_checker

#: The scheme rule's own words: a later check ("only https:// URLs without credentials") must
#: not pass for it, or a broken scheme rule would hide behind it.
SCHEME = "only https:// URLs are allowed"

# (url, the words the reason must contain). Each is refused by check_url alone.
BAD_URLS = [
    # scheme
    ("http://api.example.com/hook", SCHEME),
    ("ftp://api.example.com/", SCHEME),
    ("file:///etc/passwd", SCHEME),
    ("gopher://api.example.com/", SCHEME),
    ("ws://api.example.com/", SCHEME),
    ("wss://api.example.com/", SCHEME),
    ("//api.example.com/", SCHEME),
    ("api.example.com/hook", SCHEME),
    ("https:api.example.com", SCHEME),
    ("https:/api.example.com", SCHEME),
    ("javascript:alert(1)", SCHEME),
    ("", SCHEME),
    # userinfo
    ("https://user:pass@api.example.com/", "credentials"),
    ("https://user@api.example.com/", "credentials"),
    ("https://@api.example.com/", "credentials"),
    ("https://:@api.example.com/", "credentials"),
    ("https://api.example.com@evil.example.com/", "credentials"),
    ("https://169.254.169.254@api.example.com/", "credentials"),
    # whitespace, control characters, backslashes
    ("https://api.example.com/a b", "whitespace"),
    (" https://api.example.com/", "whitespace"),
    ("https://api.example.com/\n", "whitespace"),
    ("https://api.example.com/\r\nHost: x", "whitespace"),
    ("https://api.exa\tmple.com/", "whitespace"),
    ("https://api.example.com/\x00", "control"),
    ("https://api.example.com/\x7f", "control"),
    ("https://api.example.com\u200b/", "control"),
    ("https://api.example.com/\u00a0", "whitespace"),
    ("https://api.example.com\\@127.0.0.1/", "backslash"),
    ("https:\\\\api.example.com/", "backslash"),
    ("https://api.example.com/a\\b", "backslash"),
    # percent-encoding and zone ids
    ("https://%6c%6f%63%61%6c%68%6f%73%74/", "percent"),
    ("https://127%2e0%2e0%2e1/", "percent"),
    ("https://[fe80::1%25eth0]/", "zone"),
    ("https://[fe80::1%eth0]/", "zone"),
    # local and special-use names
    ("https://localhost/", "localhost"),
    ("https://LOCALHOST/", "localhost"),
    ("https://localhost:8443/", "localhost"),
    ("https://api.localhost/", "localhost"),
    ("https://printer.local/", "local"),
    ("https://metadata.google.internal/", "internal"),
    ("https://db.svc.internal/", "internal"),
    ("https://router.home.arpa/", "home.arpa"),
    ("https://1.0.0.127.in-addr.arpa/", "arpa"),
    ("https://hidden.onion/", "onion"),
    ("https://nothing.invalid/", "invalid"),
    ("https://site.test/", "test"),
    ("https://box.localdomain/", "localdomain"),
    ("https://nas.lan/", "lan"),
    ("https://wiki.corp/", "corp"),
    ("https://host.intranet/", "intranet"),
    # single-label names and bad labels
    ("https://intranet/", "intranet"),
    ("https://metadata/", "single-label"),
    ("https://webhook/", "single-label"),
    ("https://xn--nxasmq6b/", "single-label"),
    ("https://-bad.example.com/", "DNS name"),
    ("https://bad-.example.com/", "DNS name"),
    ("https://under_score.example.com/", "DNS name"),
    ("https://a..example.com/", "empty label"),
    ("https://.example.com/", "empty label"),
    ("https://" + "a" * 64 + ".example.com/", "DNS name"),
    ("https://" + ("a" * 60 + ".") * 5 + "com/", "longer than 253"),
    # trailing dots
    ("https://api.example.com./", "trailing dot"),
    ("https://api.example.com../", "trailing dot"),
    ("https://127.0.0.1./", "trailing dot"),
    # numeric spellings other than a canonical dotted quad
    ("https://127.1/", "numeric"),
    ("https://127.0.1/", "numeric"),
    ("https://2130706433/", "numeric"),
    ("https://0x7f000001/", "numeric"),
    ("https://0x7f.1/", "numeric"),
    ("https://0x7f.0.0.1/", "numeric"),
    ("https://0177.0.0.1/", "numeric"),
    ("https://0177.1/", "numeric"),
    ("https://017700000001/", "numeric"),
    ("https://127.000.000.001/", "numeric"),
    ("https://8.8.8.08/", "numeric"),
    ("https://1.2.3.4.5/", "numeric"),
    ("https://256.0.0.1/", "numeric"),
    ("https://0/", "numeric"),
    ("https://0x/", "numeric"),
    ("https://169.254.43518/", "numeric"),
    ("https://3232235777/", "numeric"),
    ("https://example.123/", "numeric"),
    ("https://evil.0x10/", "numeric"),
    # IPv6 literals carrying IPv4, and blocked literals
    ("https://[::ffff:127.0.0.1]/", "IPv4"),
    ("https://[::ffff:7f00:1]/", "IPv4"),
    ("https://[0:0:0:0:0:ffff:127.0.0.1]/", "IPv4"),
    ("https://[::ffff:8.8.8.8]/", "IPv4"),
    ("https://[::ffff:0:a9fe:a9fe]/", "IPv4"),
    # ports and length
    ("https://api.example.com:0/", "port"),
    ("https://api.example.com:65536/", "valid URL"),
    ("https://api.example.com:-1/", "valid URL"),
    ("https://api.example.com:https/", "valid URL"),
    ("https://api.example.com/" + "a" * MAX_URL_LENGTH, "longer than"),
    ("https:///path-only", "no host"),
    ("https://", "no host"),
    ("https://[::1/", "valid URL"),
    ("https://[v1.fe]/", "valid IPv6"),
]

# IP literals refused against the address table (aiohttp never resolves them).
BLOCKED_LITERALS = [
    ("https://127.0.0.1/", "loopback"),
    ("https://127.0.0.1:8443/hook", "loopback"),
    ("https://127.255.255.255/", "loopback"),
    ("https://0.0.0.0/", "this network"),
    ("https://10.0.0.1/", "RFC 1918"),
    ("https://172.16.5.4/", "RFC 1918"),
    ("https://192.168.1.1/", "RFC 1918"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://169.254.1.1/", "link-local"),
    ("https://100.100.100.200/", "carrier-grade NAT"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://192.0.0.192/", "IETF"),
    ("https://192.0.2.1/", "documentation"),
    ("https://198.18.0.1/", "benchmarking"),
    ("https://192.88.99.1/", "6to4"),
    ("https://224.0.0.1/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://[::]/", "unspecified"),
    ("https://[::1]/", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("https://[::127.0.0.1]/", "IPv4-compatible"),
    ("https://[64:ff9b::7f00:1]/", "NAT64"),
    ("https://[64:ff9b::a9fe:a9fe]/", "NAT64"),
    ("https://[2002:7f00:1::]/", "6to4"),
    ("https://[2001::1]/", "Teredo"),
    ("https://[2001:db8::1]/", "documentation"),
    ("https://[fc00::1]/", "unique local"),
    ("https://[fd00:ec2::254]/", "unique local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fec0::1]/", "site-local"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[100::1]/", "discard"),
]


@pytest.mark.parametrize(
    ("url", "reason"),
    [pytest.param(u, r, id=f"{i:02d}-{u[:50]}") for i, (u, r) in enumerate(BAD_URLS)],
)
def test_bad_urls_are_refused_by_the_url_rules(url: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as caught:
        check_url(url)
    assert reason.lower() in caught.value.reason.lower()
    assert caught.value.category == "refused"


@pytest.mark.parametrize(("url", "reason"), [pytest.param(u, r, id=u) for u, r in BLOCKED_LITERALS])
def test_blocked_ip_literals_are_refused_by_the_url_rules(url: str, reason: str) -> None:
    with pytest.raises(DestinationBlocked) as caught:
        check_url(url)
    assert reason.lower() in caught.value.reason.lower()
    assert caught.value.address


def test_the_tables_are_large_enough() -> None:
    assert len(BAD_URLS) + len(BLOCKED_LITERALS) >= 80
    assert len(BAD_URLS) >= 80


@pytest.mark.parametrize(
    ("url", "host"),
    [
        pytest.param("https://api.example.com/hook", "api.example.com", id="name"),
        pytest.param("https://API.Example.COM/x?y=1#z", "api.example.com", id="case"),
        pytest.param("https://api.example.com:8443/", "api.example.com", id="port"),
        pytest.param("https://8.8.8.8/", "8.8.8.8", id="public-ipv4"),
        pytest.param("https://[2606:4700:4700::1111]/", "2606:4700:4700::1111", id="public-ipv6"),
        pytest.param("https://bücher.example/", "xn--bcher-kva.example", id="idna"),
        pytest.param("https://a-b.c-d.example.com/", "a-b.c-d.example.com", id="hyphens"),
        pytest.param("https://1.2.3.4.example.com/", "1.2.3.4.example.com", id="digits-in-name"),
        pytest.param("https://api.example.com/?q=a%20b", "api.example.com", id="encoded-query"),
        pytest.param("https://xn--80ak6aa92e.com/", "xn--80ak6aa92e.com", id="punycode"),
    ],
)
def test_good_urls_pass_and_come_back_parsed(url: str, host: str) -> None:
    parsed = check_url(url)
    assert isinstance(parsed, yarl.URL)
    assert parsed.raw_host == host


def test_check_url_accepts_a_parsed_url() -> None:
    assert check_url(yarl.URL("https://api.example.com/x")).path == "/x"


def test_allowance_admits_only_its_ip_literals() -> None:
    rules = EgressRules.allowing("127.0.0.1/32")
    assert check_url("https://127.0.0.1:8443/", rules=rules).port == 8443
    with pytest.raises(DestinationBlocked):
        check_url("https://127.0.0.2/", rules=rules)
    with pytest.raises(InvalidURL):  # the allowance never relaxes the name rules
        check_url("https://localhost/", rules=rules)
    with pytest.raises(InvalidURL):
        check_url("https://127.1/", rules=rules)


def test_url_checker_refuses_what_the_rules_refuse_every_time() -> None:
    # The client's per-call check (bound allowance, cache keyed by the URL text) is judged
    # against the tables' own expectations, not against check_url (both share the rules).
    check = url_checker()
    for url, words in BAD_URLS + BLOCKED_LITERALS:
        for _attempt in range(2):  # a refusal is never cached as a pass
            with pytest.raises(CallFailed) as caught:
                check(url)
            assert words in str(caught.value), (url, str(caught.value))
    assert check("https://api.example.com/x") is check("https://api.example.com/x")


def test_url_checker_keeps_its_allowance_to_itself() -> None:
    allowed = url_checker(rules=EgressRules.allowing("127.0.0.1/32"))
    assert allowed("https://127.0.0.1:8443/").port == 8443
    with pytest.raises(DestinationBlocked):
        url_checker()("https://127.0.0.1:8443/")
    with pytest.raises(DestinationBlocked):
        allowed("https://127.0.0.2/")


def test_messages_never_contain_the_query_string() -> None:
    secret = "token-8c1e"
    for url in (f"http://api.example.com/?k={secret}", f"https://10.0.0.1/?k={secret}"):
        with pytest.raises(CallFailed) as caught:
            check_url(url)
        assert secret not in str(caught.value)
