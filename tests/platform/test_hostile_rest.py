"""Hostile REST input gets a 4xx in the error envelope: no 500, no Python exception text, no traceback in the log.

Each case here answered 500 with a traceback before the edge checks of `embedded_broker/rest/http.py`.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.platform.support import Device, EnrolledPlatform, Response, enrolled_platform

ERROR_TYPE = "application/vnd.com.nsn.cumulocity.error+json"
TRUSTED = "/tenant/tenants/t100/trusted-certificates"
LIFESPAN = "/tenant/options/oauth.internal/device-token.lifespan.seconds"
HUGE_ID = "99999999999999999999"
# what Python says when it fails: none of it may reach a client
PYTHON_TEXT = re.compile(r"Traceback|\b[A-Z][a-z]+(?:[A-Z][a-z]+)*Error\b|Exception\b|invalid literal|codec can't|"
                         r"int\(\)|NoneType|has no attribute|not subscriptable|not iterable|too large to convert|"
                         r"maximum recursion|Exceeds the limit|object is not|File \"")


Platform = EnrolledPlatform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with enrolled_platform(tmp_path_factory.mktemp("hostile"), "Hostile") as enrolled:
        yield enrolled


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """The platform logged no traceback and no unexpected failure."""
    for record in caplog.records:
        assert record.exc_info is None, f"traceback logged: {record.getMessage()}"
        assert "Traceback" not in record.getMessage()
        if record.name.startswith("embedded_broker"):
            assert "failed:" not in record.getMessage(), record.getMessage()  # the last net fired


def refused(answer: Response, status: int | tuple[int, ...], caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The envelope of a clean refusal with `status` (one of them)."""
    allowed = (status,) if isinstance(status, int) else status
    assert answer.status in allowed, (answer.status, answer.body[:300])
    assert answer.headers["Content-Type"].startswith(ERROR_TYPE), answer.headers
    envelope = answer.json
    assert set(envelope) >= {"error", "message", "info"}, envelope
    assert not PYTHON_TEXT.search(answer.body.decode()), envelope
    no_traceback(caplog)
    return envelope


# --- bodies the JSON parser used to choke on --------------------------------------------------------------------
JSON_ROUTES = [
    ("POST", "/inventory/managedObjects"), ("PUT", "/inventory/managedObjects/{mo}"),
    ("POST", "/measurement/measurements"), ("POST", "/event/events"), ("POST", "/alarm/alarms"),
    ("POST", "/identity/globalIds/{mo}/externalIds"), ("POST", "/devicecontrol/operations"),
    ("POST", TRUSTED), ("POST", TRUSTED + "/bulk"), ("PUT", "/tenant/trusted-certificates/settings/crl"),
    ("POST", "/tenant/options"), ("PUT", "/tenant/options/hostile"), ("PUT", "/tenant/options/hostile/key"),
    ("POST", "/platform/tenants"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_body_that_is_not_utf8_is_422(platform: Platform, log, method: str, path: str) -> None:
    answer = platform.rest.call(method, path.format(mo=platform.mo_id), raw=b"\xff\xfe{}")
    assert "UTF-8" in refused(answer, 422, log)["message"]


@pytest.mark.parametrize("raw", [
    b"5" * 5000, b'{"name": ' + b"9" * 5000 + b"}", b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 50_000,
    b'{"n": 1e400}', b'{"n": NaN}', b'{"n": -Infinity}', b'{"n": 9223372036854775808}', b'{"n": -9223372036854775809}',
    b'{"n": "\\ud800"}',
], ids=["5000-digits", "5000-digit-field", "nested-50000", "open-50000", "1e400", "NaN", "-Infinity", "2^63",
        "-2^63-1", "lone-surrogate"])
def test_numbers_nesting_and_escapes_out_of_range_are_422(platform: Platform, log, raw: bytes) -> None:
    answer = platform.rest.call("POST", "/inventory/managedObjects", raw=raw)
    refused(answer, 422, log)


def test_edge_limits_keep_good_documents(platform: Platform, log) -> None:
    deep: Any = "leaf"
    for _ in range(60):
        deep = {"d": deep}
    body = {"name": "edge", "big": 9223372036854775807, "small": -9223372036854775808, "real": 1.5e308, "deep": deep}
    answer = platform.rest.call("POST", "/inventory/managedObjects", body)
    assert answer.status == 201, answer.body
    assert answer.json["big"] == 9223372036854775807 and answer.json["real"] == 1.5e308
    no_traceback(log)


def test_a_json_body_over_one_mib_is_413(platform: Platform, log) -> None:
    big = json.dumps({"name": "x" * (1024 * 1024)}).encode()
    envelope = refused(platform.rest.call("POST", "/inventory/managedObjects", raw=big), 413, log)
    assert "1048576 bytes" in envelope["message"]
    # without a Content-Length (chunked), the limit holds while reading
    connection = http.client.HTTPSConnection("127.0.0.1", platform.rest.port,
                                             context=platform.rest.context(), timeout=10)
    try:
        basic = base64.b64encode(f"{platform.rest.user}:{platform.rest.password}".encode()).decode()
        connection.request("POST", "/inventory/managedObjects", body=iter([b'{"name":"', b"y" * (1100 * 1024), b'"}']),
                           headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json",
                                    "Accept": "application/json"}, encode_chunked=True)
        reply = connection.getresponse()
        answer = Response(reply.status, dict(reply.headers), reply.read())
    finally:
        connection.close()
    refused(answer, 413, log)


# --- fields of the wrong type -------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"crls": 5}, {"crls": "abc"}, {"crls": [5]}, {"crls": [{"serialNumberInHex": 5}]},
    {"crls": [{"serialNumberInHex": "0a", "revocationDate": 7}]}, {"crls": {"serialNumberInHex": "0a"}}, [1, 2],
])
def test_crl_settings_of_the_wrong_type_are_422(platform: Platform, log, body: Any) -> None:
    answer = platform.rest.call("PUT", "/tenant/trusted-certificates/settings/crl", body)
    assert "crls" in refused(answer, 422, log)["message"] or body == [1, 2]


@pytest.mark.parametrize("entry", [{"serialNumberInHex": "f" * 5000}, {"serialNumberInHex": "zz"},
                                   {"serialNumberInHex": "0a", "revocationDate": "0001-01-01T00:00:00+14:00"}])
def test_crl_entries_out_of_range_are_400(platform: Platform, log, entry: dict[str, Any]) -> None:
    answer = platform.rest.call("PUT", "/tenant/trusted-certificates/settings/crl", {"crls": [entry]})
    refused(answer, 400, log)


@pytest.mark.parametrize("body", [
    {"status": "ENABLED", "certInPemFormat": -1}, {"status": "ENABLED", "certInPemFormat": ["x"]},
    {"status": "ENABLED", "certInPemFormat": {"pem": "x"}}, {"status": "ENABLED", "certInPemFormat": True},
    {"status": 5, "certInPemFormat": "x"}, {"status": "ENABLED", "certInPemFormat": "x", "name": 5},
    {"status": "ENABLED", "certInPemFormat": "x", "autoRegistrationEnabled": 3},
])
def test_certificate_fields_of_the_wrong_type_are_422(platform: Platform, log, body: dict[str, Any]) -> None:
    refused(platform.rest.call("POST", TRUSTED, body), 422, log)
    refused(platform.rest.call("POST", TRUSTED + "/bulk", {"certificates": [body]}), 422, log)


def test_certificate_update_of_the_wrong_type_is_422(platform: Platform, log) -> None:
    fp = platform.rest.call("GET", TRUSTED).json["certificates"][0]["fingerprint"]
    for body in ({"name": 5}, {"status": []}, {"autoRegistrationEnabled": {}}):
        refused(platform.rest.call("PUT", f"{TRUSTED}/{fp}", body), 422, log)
    assert platform.rest.call("GET", f"{TRUSTED}/{fp}").json["name"] == "Rehearsal CA"


# --- ids that cannot be ids ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [HUGE_ID, "9223372036854775808", "-1", "1_0", "１２", "1e3", " 7", "0x10"])
@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/inventory/managedObjects/{id}", None), ("PUT", "/inventory/managedObjects/{id}", {"name": "n"}),
    ("DELETE", "/inventory/managedObjects/{id}", None), ("GET", "/identity/globalIds/{id}/externalIds", None),
    ("POST", "/identity/globalIds/{id}/externalIds", {"type": "c8y_Serial", "externalId": "hostile-x"}),
    ("GET", "/event/events/{id}", None), ("GET", "/alarm/alarms/{id}", None), ("PUT", "/alarm/alarms/{id}", {}),
    ("GET", "/measurement/measurements/{id}", None), ("GET", "/devicecontrol/operations/{id}", None),
    ("PUT", "/devicecontrol/operations/{id}", {"status": "EXECUTING"}),
    ("GET", "/event/events?source={id}", None), ("GET", "/devicecontrol/operations?deviceId={id}", None),
])
def test_ids_that_are_not_ids_are_404(platform: Platform, log, bad: str, method: str, path: str, body: Any) -> None:
    from urllib.parse import quote

    answer = platform.rest.call(method, path.format(id=quote(bad)), body)
    refused(answer, (404, 422), log)


@pytest.mark.parametrize("device_id", [9223372036854775808, "9223372036854775808", HUGE_ID, -1, 1.5, "abc", [1],
                                       {"id": 1}, True])
def test_operation_for_a_device_id_out_of_range_is_refused(platform: Platform, log, device_id: Any) -> None:
    answer = platform.rest.call("POST", "/devicecontrol/operations", {"deviceId": device_id, "c8y_Restart": {}})
    refused(answer, (404, 422), log)


@pytest.mark.parametrize("source", [{"id": HUGE_ID}, {"id": 9223372036854775807}, {"id": [1]}, "1", {"id": None}])
def test_records_with_a_bad_source_are_refused(platform: Platform, log, source: Any) -> None:
    answer = platform.rest.call("POST", "/event/events", {"source": source, "type": "t", "text": "x"})
    refused(answer, (404, 422), log)


def test_records_with_a_time_out_of_range_are_422(platform: Platform, log) -> None:
    body = {"source": {"id": platform.mo_id}, "type": "t", "text": "x", "time": "0001-01-01T00:00:00+14:00"}
    refused(platform.rest.call("POST", "/event/events", body), 422, log)


@pytest.mark.parametrize("query", ["pageSize=" + "9" * 5000, "currentPage=" + "9" * 4000, "pageSize=1_0",
                                   "currentPage=99999999999"])
def test_paging_numbers_out_of_range_are_422(platform: Platform, log, query: str) -> None:
    refused(platform.rest.call("GET", f"/inventory/managedObjects?{query}"), 422, log)


# --- tenant options -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["99999999999999999999999", "2147483648", "299", "-600", "600.5", "abc", "",
                                   " ", 1e300, True, {"v": 1}, [600]])
def test_token_lifespan_out_of_range_is_422_with_the_range(platform: Platform, log, value: Any) -> None:
    envelope = refused(platform.rest.call("PUT", LIFESPAN, {"value": value}), 422, log)
    if not isinstance(value, dict | list):
        assert "at least 300 and at most 2147483647" in envelope["message"], envelope
    post = platform.rest.call("POST", "/tenant/options", {"category": "oauth.internal",
                                                          "key": "device-token.lifespan.seconds", "value": value})
    refused(post, 422, log)
    refused(platform.rest.call("PUT", "/tenant/options/oauth.internal",
                               {"device-token.lifespan.seconds": value}), 422, log)
    assert platform.rest.call("GET", LIFESPAN).json["value"] == "3600"  # nothing was written


def test_option_names_and_boolean_options_are_checked(platform: Platform, log) -> None:
    for body in ({"category": "a b", "key": "k", "value": "v"}, {"category": "c", "key": "k?x", "value": "v"},
                 {"category": "c", "key": "", "value": "v"}, {"category": "c" * 300, "key": "k", "value": "v"},
                 {"category": None, "key": "k", "value": "v"}, {"category": 5, "key": "k", "value": "v"},
                 {"category": "c", "key": "k", "value": None}, {"category": "c", "key": "k", "value": "v" * 70_000},
                 {"category": "configuration", "key": "crl.offline.check.enabled", "value": "maybe"}):
        refused(platform.rest.call("POST", "/tenant/options", body), 422, log)
    ok = platform.rest.call("POST", "/tenant/options", {"category": "configuration",
                                                        "key": "crl.offline.check.enabled", "value": "TRUE"})
    assert ok.status == 200 and ok.json["value"] == "true"
    assert platform.rest.call("PUT", LIFESPAN, {"value": 900}).json["value"] == "900"
    assert platform.rest.call("DELETE", LIFESPAN).status == 204


def test_a_stored_bad_lifespan_never_breaks_token_issuance(platform: Platform, log, tmp_path: Path) -> None:
    background = platform.background

    def write_bad() -> None:
        with background.platform.store.transaction():
            background.platform.store.execute(
                "INSERT OR REPLACE INTO options (tenant, category, key, value) VALUES ('t100', 'oauth.internal', "
                "'device-token.lifespan.seconds', '99999999999999999999999')")
            background.platform.store.execute("DELETE FROM device_tokens")  # the next request mints a new token

    background.call(write_bad)
    try:
        answer = platform.rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=platform.device_files)
        assert answer.status == 200, answer.body
        claims = jwt.decode(answer.json["accessToken"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 3600
        background.call(lambda: background.platform.store.execute("DELETE FROM device_tokens"))
        client = Device(background.ports["mqtts"], platform.rest.ca_path, "d:dev-hostile", platform.device_files)
        try:
            assert client.connect() == 0
            claims = jwt.decode(client.token(), options={"verify_signature": False})
            assert claims["exp"] - claims["iat"] == 3600
        finally:
            client.close()
        assert platform.rest.call("GET", "/user/currentUser", token=answer.json["accessToken"]).status == 200
        warnings = [r for r in log.records if "device-token.lifespan.seconds" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING, [r.getMessage() for r in warnings]
        assert "using the default 3600" in warnings[0].getMessage()
        no_traceback(log)
    finally:
        assert platform.rest.call("DELETE", LIFESPAN).status == 204


# --- what aiohttp refuses itself, and the last net ---------------------------------------------------------------
def _raw_exchange(platform: Platform, request: bytes) -> bytes:
    context = ssl.create_default_context(cafile=str(platform.rest.ca_path))
    port = platform.rest.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain, \
            context.wrap_socket(plain, server_hostname="localhost") as tls:
        tls.sendall(request)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return data


@pytest.mark.parametrize("request_bytes", [
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
    b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n\r\n",
], ids=["long-header", "long-url", "bad-header-name"])
def test_http_level_errors_log_one_line(platform: Platform, log, request_bytes: bytes) -> None:
    answer = _raw_exchange(platform, request_bytes)
    assert re.match(rb"HTTP/1\.[01] 400 ", answer), answer[:200]
    assert b"Traceback" not in answer
    lines = [r for r in log.records if r.name == "embedded_broker.rest.server"]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage(), [r.getMessage() for r in lines]
    no_traceback(log)


def test_an_unexpected_failure_is_a_generic_500_and_one_log_line(platform: Platform, caplog) -> None:
    caplog.set_level(logging.INFO)
    inventory = platform.background.platform.inventory

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail\nsecond line")

    original = inventory.list_objects
    platform.background.call(lambda: setattr(inventory, "list_objects", broken))
    try:
        answer = platform.rest.call("GET", "/inventory/managedObjects?pageSize=1")
    finally:
        platform.background.call(lambda: setattr(inventory, "list_objects", original))
    assert answer.status == 500 and answer.headers["Content-Type"].startswith(ERROR_TYPE)
    assert b"secret" not in answer.body and not PYTHON_TEXT.search(answer.body.decode())
    assert answer.json["error"] == "general/Internal Server Error"
    lines = [r for r in caplog.records if r.name.startswith("embedded_broker")]
    assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
    assert lines[0].getMessage() == "REST GET /inventory/managedObjects failed: RuntimeError: secret detail second line"


def test_the_device_token_meets_the_same_edge(platform: Platform, log) -> None:
    for raw in (b"\xff\xfe{}", b"[" * 50_000, b'{"deviceId": 9223372036854775808}'):
        answer = platform.rest.call("POST", "/inventory/managedObjects", raw=raw, token=platform.token)
        refused(answer, 422, log)
    refused(platform.rest.call("GET", f"/inventory/managedObjects/{HUGE_ID}", token=platform.token), (403, 404), log)


@pytest.mark.parametrize("path", ["/tenant/trusted-certificates/verify-cert-chain",
                                  "/tenant/trusted-certificates/settings/crl"])
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=xyz"])
def test_a_form_aiohttp_cannot_read_is_400(platform: Platform, log, path: str, content_type: str) -> None:
    method = "POST" if path.endswith("verify-cert-chain") else "PUT"
    answer = platform.rest.call(method, path, raw=b"\xff\xfe not a form", content_type=content_type)
    refused(answer, 400, log)
