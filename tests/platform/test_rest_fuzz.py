"""Property-based REST fuzz: every route of the app × random path ids, queries, bodies and callers never gets a 5xx.

Bodies include non-UTF-8 bytes, deep nesting, huge numbers, NaN and known fields of the wrong type; callers are the
admin (Basic), a device (Bearer token), nobody, and a broken header. One platform serves the whole module; requests
go over real HTTPS with urllib, trusting the platform's server CA.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded_broker.rest.app import build_app
from tests.platform.support import EnrolledPlatform, enrolled_platform

ERROR_TYPE = "application/vnd.com.nsn.cumulocity.error+json"
SKIPPED = {("GET", "/platform/events"), ("HEAD", "/platform/events")}  # an endless event stream, tested elsewhere
EXAMPLES = int(os.environ.get("REST_FUZZ_EXAMPLES", "200"))  # CI size (~10 s); raise it for a deeper run


Target = EnrolledPlatform


@pytest.fixture(scope="module")
def routes(target: Target) -> list[tuple[str, str]]:
    """(method, path template) of every route the server was built from, but the endless event stream."""
    app = build_app(target.background.platform)  # only to read the route table
    return sorted({(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None} - SKIPPED)


class LogRecords(logging.Handler):
    """Every record of the module's run, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def records() -> Iterator[LogRecords]:
    handler = LogRecords()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, records: LogRecords) -> Iterator[Target]:
    with enrolled_platform(tmp_path_factory.mktemp("fuzz"), "Fuzz") as enrolled:
        yield enrolled


# --- strategies ---------------------------------------------------------------------------------------------------
KNOWN_FIELDS = ["id", "name", "type", "status", "certInPemFormat", "autoRegistrationEnabled", "crls",
                "serialNumberInHex", "revocationDate", "category", "key", "value", "deviceId", "source", "time",
                "text", "severity", "externalId", "certificates", "proofOfPossessionSignedVerificationCode",
                "c8y_IsDevice", "childDevices", "description", "failureReason", "device-token.lifespan.seconds"]
HUGE = [2 ** 63, -(2 ** 63) - 1, 10 ** 30, 9223372036854775807, -1, 0, 1e308, -1e-308]
scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(HUGE), st.integers(-10, 10), st.floats(allow_nan=False,
                    allow_infinity=False), st.text(max_size=12), st.sampled_from(["ENABLED", "MAJOR", "PENDING",
                                                                                  "true", "600", "0a", "t100", ""]))
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KNOWN_FIELDS) | st.text(max_size=6), children,
                                                    max_size=5)), max_leaves=12)
raw_bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"\xff\xfe{}", b'{"a": "\xc3\x28"}', b"[" * 5000, b'{"a":' * 3000, b"9" * 5000,
                     b'{"n": NaN}', b'{"n": Infinity}', b'{"n": 1e999}', b'{"n": "\\udc00"}', b"\xef\xbb\xbf{}", b"",
                     b"null", b'"text"', b"[]", b"{}", b'{"crls": 5}', b'{"certificates": [5]}',
                     b'{"value": "99999999999999999999999"}', b'{"deviceId": 9223372036854775808}']),
)
bodies = st.one_of(json_values.map(lambda v: json.dumps(v).encode()), raw_bodies, st.none())


def path_values(target: Target) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([target.mo_id, "1", "0", "99999999999999999999", "9223372036854775808", "-1", "1_0", "１２",
                         "t100", "t999", target.fingerprint, "0" * 40, "oauth.internal", "configuration",
                         "device-token.lifespan.seconds", "crl.offline.check.enabled", "c8y_Serial", "dev-fuzz",
                         "%ff", "a%2Fb", "..", "x" * 300]),
        st.text(min_size=1, max_size=20))


QUERY_NAMES = ["pageSize", "currentPage", "source", "deviceId", "type", "status", "dateFrom", "dateTo", "revert",
               "withTotalElements", "withTotalPages", "fragmentType", "owner", "kind"]
query_values = st.one_of(st.sampled_from(["1", "-1", "0", "2001", "9" * 30, "9" * 2000, "abc", "true",
                                          "2024-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", ""]),
                         st.text(max_size=10))
queries = st.dictionaries(st.sampled_from(QUERY_NAMES), query_values, max_size=3)
CONTENT_TYPES = ["application/json", "application/vnd.com.nsn.cumulocity.managedobject+json",
                 "multipart/form-data; boundary=xyz", "multipart/form-data", "text/plain", "application/json; "
                 "charset=latin-1"]


def _url(template: str, values: dict[str, str], query: dict[str, str]) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    return path + ("?" + urllib.parse.urlencode(query) if query else "")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 200, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_no_route_answers_5xx(target: Target, routes: list[tuple[str, str]], records: LogRecords,
                              data: st.DataObject) -> None:
    method, template = data.draw(st.sampled_from(routes), label="route")
    names = [part[1:-1] for part in template.split("/") if part.startswith("{") and part.endswith("}")]
    values = {name: data.draw(path_values(target), label=name) for name in names}
    query = data.draw(queries, label="query")
    body = data.draw(bodies, label="body") if method in ("POST", "PUT", "DELETE") else None
    caller = data.draw(st.sampled_from(["admin", "device", "none", "broken"]), label="caller")
    if template == "/user/logout" and caller == "device":
        caller = "admin"  # logging the fuzz device out would only narrow the rest of the run
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content type")
    url = _url(template, values, query)
    seen = len(records.records)
    answer = target.rest.call(method, url, raw=body, content_type=content_type,
                              token=target.token if caller == "device" else "x.y.z" if caller == "broken" else None,
                              auth=caller == "admin")
    assert answer.status < 500, (method, url, body and body[:200], caller, answer.status, answer.body[:300])
    if answer.status >= 400 and method != "HEAD":
        assert answer.headers.get("Content-Type", "").startswith(ERROR_TYPE), (method, url, answer.headers)
        assert {"error", "message"} <= set(answer.json), answer.body[:300]
    assert b"Traceback" not in answer.body
    problems = [r.getMessage() for r in records.records[seen:] if r.exc_info is not None or
                (r.name.startswith("embedded_broker") and r.levelno >= logging.ERROR)]
    assert not problems, (method, url, problems[:3])
