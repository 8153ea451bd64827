"""HTTP plumbing shared by every route: the error envelope, the `Accept` quirk, paging, JSON bodies and auth.

Every failure becomes the cloud's error envelope; nothing a client sends can produce a traceback page.
§ and A numbers are sections and decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import sys
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from cryptography import x509

from embedded_broker.errors import BrokerError
from embedded_broker.platform.accounts import User
from embedded_broker.platform.chains import ChainRefused
from embedded_broker.platform.core import Platform
from embedded_broker.platform.errors import PlatformError, forbidden, invalid, unauthorized
from embedded_broker.platform.inventory import MAX_ID, valid_id
from embedded_broker.tls import peer_chain

log = logging.getLogger("embedded_broker.rest")
ERROR_TYPE = "application/vnd.com.nsn.cumulocity.error+json"
PLATFORM: web.AppKey[Platform] = web.AppKey("platform", Platform)
PORTS: web.AppKey[dict] = web.AppKey("ports", dict)
USER: web.RequestKey[User] = web.RequestKey("user", User)
CLAIMS: web.RequestKey[dict] = web.RequestKey("claims", dict)
PUBLIC_PATHS = ("/.well-known/jwks.json", "/health", "/devicecontrol/deviceAccessToken",
                # EST (§8): enrolment authenticates with Basic <id>:<OTP>, re-enrolment refuses mTLS alone, and
                # cacerts is public (RFC 7030); rest/routes_est.py authenticates each itself
                "/.well-known/est/simpleenroll", "/.well-known/est/simplereenroll", "/.well-known/est/cacerts")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: PlatformError) -> web.Response:
    """The envelope of platform reference §1.8 with the right status and media type."""
    response = web.json_response(error.envelope(), status=error.status, content_type=ERROR_TYPE)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Cumulocity"'
    elif error.status == 503:
        response.headers["Retry-After"] = "1"
    return response


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map platform errors, aiohttp's own 404/405 and unexpected failures to the envelope."""
    try:
        return await handler(request)
    except PlatformError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        names = {404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large"}
        name = names.get(exc.status, exc.reason)
        return error_response(PlatformError(exc.status, f"general/{name}",
                                            f"{request.method} {request.path}: {exc.reason}"))
    except Exception as exc:  # the last net: a bug still answers in the envelope, says nothing of Python, logs a line
        log.error("REST %s %s failed: %s", request.method, route_of(request), one_line(exc))
        return error_response(PlatformError(500, "general/Internal Server Error",
                                            "The platform failed to process this request; the platform log has "
                                            "the details."))


def route_of(request: web.Request) -> str:
    """The route pattern of a request (`/inventory/managedObjects/{id}`), else its path, for log lines."""
    resource = request.match_info.route.resource if request.match_info.route is not None else None
    return resource.canonical if resource is not None else request.path


def one_line(exc: BaseException) -> str:
    """An exception as one short log line: its class and its text on one line (cut at 200), never a traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class OneLineServerLog(logging.LoggerAdapter):
    """aiohttp's server logger, minus tracebacks: an over-long header or URL (400) is one warning line.

    aiohttp logs its own HTTP-level refusals with `logger.exception(...)` and a full traceback; pass an instance as
    `web.AppRunner(..., logger=...)`.
    """

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        """One line with the reason instead of a traceback."""
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info else None
        text = str(msg) % args if args else str(msg)
        self.warning("%s%s", text, f": {one_line(error)}" if error is not None else "", **kwargs)


SERVER_LOG = OneLineServerLog(logging.getLogger("embedded_broker.rest.server"), {})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Basic (`tenant/user:password`) or Bearer on every path except the public ones (platform reference A1)."""
    if request.path not in PUBLIC_PATHS:
        request[USER] = await authenticate(request)
    return await handler(request)


async def authenticate(request: web.Request) -> User:
    """The caller of a request (a Basic password is checked on the hashing pool, never on the loop).

    Raises:
        PlatformError: 401 saying what was missing or wrong; 503 (with Retry-After) when too many password
            checks are pending already (`PasswordChecksBusy`).
    """
    platform = request.app[PLATFORM]
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            login, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise unauthorized("Invalid credentials! : the Basic header is not base64 of user:password") from None
        tenant, name = platform.accounts.resolve_login(login, request.host)
        return await platform.accounts.verify_password(tenant, name, password)
    if scheme.lower() == "bearer":
        user, claims = platform.tokens.verify(value.strip())
        request[CLAIMS] = claims
        return user
    if not header:
        device = certificate_user(request)
        if device is not None:
            return device
    raise unauthorized("Full authentication is required to access this resource")


def certificate_user(request: web.Request) -> User | None:
    """Direct mTLS on REST (§2.4): the device whose client certificate opened this TLS connection, or None when
    the client sent none. The chain is judged as for the device access token (auto-registration included).

    Raises:
        PlatformError: 401 naming why the chain is refused.
    """
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
    sent = [x509.load_der_x509_certificate(der) for der in peer_chain(ssl_object)]
    if not sent:
        return None
    platform = request.app[PLATFORM]
    try:
        identity, _match = platform.authenticate_chain(sent, None, via="REST")
    except ChainRefused as refusal:
        raise unauthorized(f"Invalid certificate chain! ({refusal.reason})") from None
    return User(identity.tenant, identity.user, "device", "CERTIFICATES")


def user_of(request: web.Request) -> User:
    """The authenticated caller."""
    return request[USER]


def require_admin(request: web.Request, tenant: str | None = None) -> User:
    """The caller, if it is an admin of `tenant` (or of its own tenant).

    Raises:
        PlatformError: 403 otherwise.
    """
    user = user_of(request)
    if not user.is_admin:
        raise forbidden()
    if tenant is not None and tenant != user.tenant:
        request.app[PLATFORM].accounts.tenant_domain(tenant)  # 404 for an unknown tenant
        raise forbidden(f"Access is denied: you are logged in to tenant {user.tenant}, not {tenant}.")
    return user


# --- JSON bodies: size, encoding, depth, numbers and the types of known fields, checked before any handler ------
MAX_JSON_BODY = 1024 * 1024  # bytes of a JSON body (413 above); multipart forms have the app's client_max_size
MAX_JSON_DEPTH = 64  # nested arrays/objects
MAX_NUMBER_CHARS = 400  # characters of one number literal
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_READ_CHUNK = 64 * 1024
_BODY: web.RequestKey[bytes] = web.RequestKey("body", bytes)  # read once, so a second json_body sees it too
# strings, closed or not, in one linear left-to-right pass (what is left is JSON's structure, numbers and words)
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
# outside strings: a literal that may not fit (19+ digits, an exponent); NaN/Infinity; an escape of a surrogate
_RISKY_NUMBER = re.compile(r"[0-9]{19}|[0-9][eE]|N|I")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _BadNumber(BrokerError):
    """A number literal outside what the platform stores (64-bit integers, finite doubles)."""


def _int_literal(text: str) -> int:
    if len(text.lstrip("-")) > 19 or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise _BadNumber(text)
    return value


def _float_literal(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise _BadNumber(text)
    return value


def _constant(text: str) -> Any:
    raise _BadNumber(text)


def json_depth(text: str, *, outside_strings: str | None = None) -> int:
    """How deeply arrays and objects nest in a JSON text (strings ignored), without recursion."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text) if outside_strings is None else outside_strings)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def parse_json(data: bytes) -> Any:
    """A JSON document from request bytes, within the platform's limits (the docs list them).

    Raises:
        PlatformError: 422 for text that is not strict UTF-8, not JSON, nested deeper than MAX_JSON_DEPTH, with a
            number that does not fit a signed 64-bit integer or a finite double, NaN/Infinity, or a lone surrogate.
    """
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise invalid("general", f"The request body is not UTF-8 (invalid byte at offset {exc.start}).") from None
    if not text.strip():
        return {}
    structure = _STRINGS.sub('""', text)
    if json_depth(text, outside_strings=structure) > MAX_JSON_DEPTH:
        raise invalid("general", f"The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels.")
    try:
        if _RISKY_NUMBER.search(structure):  # the checked parse costs ~5x; plain documents skip it
            body = json.loads(text, parse_int=_int_literal, parse_float=_float_literal, parse_constant=_constant)
        else:
            body = json.loads(text)
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(body, ensure_ascii=False).encode("utf-8")  # a lone \ud800 escape cannot be stored
    except json.JSONDecodeError as exc:
        raise invalid("general", f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
                                 f"{exc.colno}.") from None
    except _BadNumber as exc:
        literal = str(exc) if len(str(exc)) <= 40 else f"{str(exc)[:20]}…({len(str(exc))} characters)"
        raise invalid("general", f"The number {literal} is out of range: whole numbers must lie in "
                                 f"{INT64_MIN}..{INT64_MAX} (signed 64-bit), decimals must be finite doubles, and "
                                 "NaN and Infinity are not JSON.") from None
    except RecursionError:
        raise invalid("general", f"The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} "
                                 "levels.") from None
    except UnicodeEncodeError:
        raise invalid("general", "The request body has a \\u escape of a lone UTF-16 surrogate.") from None
    return body


async def read_body(request: web.Request, limit: int = MAX_JSON_BODY) -> bytes:
    """The raw body, refusing more than `limit` bytes before reading it all.

    Raises:
        PlatformError: 413 above the limit.
    """
    if _BODY in request:
        return request[_BODY]
    too_large = PlatformError(413, "general/Request Entity Too Large",
                              f"The request body is larger than {limit} bytes ({limit // 1024} KiB), the limit of "
                              "JSON requests.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    data = bytearray()
    while chunk := await request.content.read(_READ_CHUNK):
        data += chunk
        if len(data) > limit:
            raise too_large
    request[_BODY] = bytes(data)
    return request[_BODY]


async def json_body(request: web.Request) -> Any:
    """The request's JSON, after the edge checks and the type check of the route's known fields (FIELDS).

    Raises:
        PlatformError: 413 for a body over MAX_JSON_BODY; 422 for one `parse_json` refuses or a known field of the
            wrong type.
    """
    body = parse_json(await read_body(request))
    if isinstance(body, dict):
        check_fields(FIELDS.get(f"{request.method} {route_of(request)}", {}), body)
    return body


async def json_object(request: web.Request, resource: str, message: str) -> dict[str, Any]:
    """`json_body` where only a JSON object makes sense; anything else is a 422 of `resource` saying `message`."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid(resource, message)
    return body


async def form_body(request: web.Request) -> Any:
    """The fields of a multipart or urlencoded form (aiohttp's `request.post()`), up to the app's client_max_size.

    Raises:
        PlatformError: 400 for a form aiohttp cannot read (no boundary, a broken part, a bad charset); 413 above
            the size limit (through the envelope middleware).
    """
    try:
        return await request.post()
    except (ValueError, AssertionError, LookupError, RuntimeError, HttpProcessingError) as exc:
        log.info("REST %s %s: unreadable form body (%s)", request.method, route_of(request), type(exc).__name__)
        raise PlatformError(400, "general/Bad Request", "The form body cannot be read: send multipart/form-data with "
                            "a boundary in the Content-Type header (e.g. curl -F 'file=@name.pem').") from None


def check_fields(fields: dict[str, Field], body: dict[str, Any]) -> None:
    """Type-check the known fields of a JSON object (absent or null fields are left to the handler).

    Raises:
        PlatformError: 422 naming the field and the type it needs.
    """
    for name, (needs, accepts) in fields.items():
        value = body.get(name)
        if value is not None and not accepts(value):
            raise invalid("general", f"{name} must be {needs}, got a {_json_type(value)}.")


def _json_type(value: Any) -> str:
    for kinds, name in ((bool, "boolean"), (str, "string"), ((int, float), "number"), (list, "array"),
                        (dict, "object")):
        if isinstance(value, kinds):
            return name
    return "null"


def is_id(value: Any) -> bool:
    """A platform id: a whole number 0..MAX_ID, as a JSON number or a string of digits."""
    return valid_id(value) is not None


def _crl_entries(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("serialNumberInHex"), str)
        and isinstance(item.get("revocationDate") or "", str) for item in value)


Field = tuple[str, Callable[[Any], bool]]
STRING: Field = ("a string", lambda v: isinstance(v, str))
BOOLEAN: Field = ("true or false", lambda v: isinstance(v, bool) or (isinstance(v, str) and v.lower() in
                                                                      ("true", "false")))
ID: Field = (f"an id (a whole number 0..{MAX_ID}, as a number or a string of digits)", is_id)
SOURCE: Field = ('an object {"id": "<managed object id>"} with a valid id',
                 lambda v: isinstance(v, dict) and is_id(v.get("id")))
OPTION_VALUE: Field = ("a string (a number or boolean is taken as its text)",
                       lambda v: isinstance(v, str | int | float | bool))
CERTIFICATES: Field = ("an array of certificate objects", lambda v: isinstance(v, list) and
                       all(isinstance(item, dict) for item in v))
CRLS: Field = ('an array of objects {"serialNumberInHex": "<hex>", "revocationDate": "<ISO 8601>"}', _crl_entries)
_CERTIFICATE = {"name": STRING, "status": STRING, "autoRegistrationEnabled": BOOLEAN, "certInPemFormat": STRING}
_OBJECT = {"name": STRING, "type": STRING}
_RECORD = {"source": SOURCE, "type": STRING, "time": STRING, "text": STRING, "severity": STRING, "status": STRING}
# "<METHOD> <route pattern>" → the known fields of its JSON body and the type each needs
FIELDS: dict[str, dict[str, Field]] = {
    "POST /tenant/tenants/{tenant}/trusted-certificates": _CERTIFICATE,
    "POST /tenant/tenants/{tenant}/trusted-certificates/bulk": {"certificates": CERTIFICATES},
    "PUT /tenant/tenants/{tenant}/trusted-certificates/{fp}": _CERTIFICATE,
    "POST /tenant/tenants/{tenant}/trusted-certificates-pop/{fp}/pop": {
        "proofOfPossessionSignedVerificationCode": STRING},
    "PUT /tenant/trusted-certificates/settings/crl": {"crls": CRLS},
    "POST /tenant/options": {"category": STRING, "key": STRING, "value": OPTION_VALUE},
    "PUT /tenant/options/{category}/{key}": {"value": OPTION_VALUE},
    "POST /identity/globalIds/{id}/externalIds": {"externalId": STRING, "type": STRING},
    "POST /inventory/managedObjects": _OBJECT,
    "PUT /inventory/managedObjects/{id}": _OBJECT,
    "POST /measurement/measurements": {"source": SOURCE, "type": STRING, "time": STRING},
    "POST /event/events": _RECORD,
    "POST /alarm/alarms": _RECORD,
    "PUT /alarm/alarms/{id}": {"status": STRING, "severity": STRING, "text": STRING},
    "POST /devicecontrol/operations": {"deviceId": ID, "status": STRING, "description": STRING},
    "PUT /devicecontrol/operations/{id}": {"status": STRING, "failureReason": STRING},
    "POST /platform/tenants": {"id": STRING},
    "PUT /features/{key}/by-tenant": {"active": BOOLEAN},
    "PUT /features/{key}/by-tenant/{tenant}": {"active": BOOLEAN},
    "POST /devicecontrol/newDeviceRequests": {"id": STRING, "enrollmentToken": STRING},
}


def respond(request: web.Request, body: Any, status: int = 200, media: str = "application/json") -> web.Response:
    """A JSON answer, honouring the quirk: POST/PUT without `Accept` get an empty body with the same status."""
    if request.method in ("POST", "PUT") and not request.headers.get("Accept"):
        return web.Response(status=status)
    return web.json_response(body, status=status, content_type=media.split(";")[0])


MAX_PAGE = 2 ** 31 - 1
_PAGE_NUMBER = re.compile(r"-?[0-9]{1,10}")


def page(request: web.Request, items: list[Any], key: str) -> dict[str, Any]:
    """A collection with `statistics`, `currentPage`/`pageSize` paging (default 5, maximum 2000) as the cloud does."""
    texts = (request.query.get("pageSize", "5").strip(), request.query.get("currentPage", "1").strip())
    if not all(_PAGE_NUMBER.fullmatch(text) for text in texts):
        raise invalid("general", f"pageSize and currentPage must be whole numbers up to {MAX_PAGE}.")
    size = min(max(int(texts[0]), 1), 2000)
    current = max(int(texts[1]), 1)
    if current > MAX_PAGE:
        raise invalid("general", f"pageSize and currentPage must be whole numbers up to {MAX_PAGE}.")
    start = (current - 1) * size
    statistics: dict[str, Any] = {"currentPage": current, "pageSize": size}
    if request.query.get("withTotalElements", "false").lower() == "true":
        statistics["totalElements"] = len(items)
    if request.query.get("withTotalPages", "false").lower() == "true":
        statistics["totalPages"] = (len(items) + size - 1) // size
    base = f"{request.app[PLATFORM].base_url}{request.path}"
    body: dict[str, Any] = {key: items[start:start + size], "statistics": statistics,
                            "self": f"{base}?pageSize={size}&currentPage={current}"}
    if start + size < len(items):
        body["next"] = f"{base}?pageSize={size}&currentPage={current + 1}"
    if current > 1:
        body["prev"] = f"{base}?pageSize={size}&currentPage={current - 1}"
    return body
