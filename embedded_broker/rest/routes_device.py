"""Device control routes: the device access token over mTLS (§2), bulk registration (§3) and operations.

§ numbers are sections of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import logging

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from embedded_broker.platform.chains import ChainRefused
from embedded_broker.platform.errors import PlatformError, invalid, unauthorized
from embedded_broker.platform.registration import register_bulk
from embedded_broker.rest.access import require_item, require_query_object, visible
from embedded_broker.rest.http import PLATFORM, authenticate, json_body, page, require_admin, respond, user_of
from embedded_broker.rest.routes_tenant import parse_pem_chain
from embedded_broker.tls import peer_chain

routes = web.RouteTableDef()
BULK_MEDIA = "application/vnd.com.nsn.cumulocity.bulknewdevicerequest+json"
_MAX_CSV = 8 * 1024 * 1024  # the CSV part of a bulk registration (413 above)
_MAX_BULK_BODY = 2 * _MAX_CSV  # the whole multipart body, by Content-Length (413 above)
_READ_CHUNK = 64 * 1024
log = logging.getLogger("embedded_broker.rest")


@routes.post("/devicecontrol/deviceAccessToken")
async def device_access_token(request: web.Request) -> web.Response:
    """A JWT for the device whose client certificate opened this TLS connection (no Authorization header)."""
    platform = request.app[PLATFORM]
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
    sent = [x509.load_der_x509_certificate(d) for d in peer_chain(ssl_object)]
    if not sent:
        raise unauthorized("A client certificate is required: call this endpoint over mutual TLS with the device's "
                           "key and certificate.")
    header = request.headers.get("X-Ssl-Cert-Chain")
    chain = list(sent)
    if header:
        extra = parse_pem_chain(header)
        known = {c.fingerprint(c.signature_hash_algorithm or _sha256()) for c in chain}
        chain += [c for c in extra if c.fingerprint(c.signature_hash_algorithm or _sha256()) not in known
                  and c != chain[0]]
    try:
        identity, _match = platform.authenticate_chain(chain, None, via="deviceAccessToken")
    except ChainRefused as refusal:
        if refusal.revoked or refusal.unknown_ca:
            raise PlatformError(401, "security/Unauthorized", f"Invalid certificate chain! ({refusal.reason})") \
                from None
        raise PlatformError(422, "Auto registeration is failed for device/Unprocessable Entity",
                            f"Cannot process certificate data. ({refusal.reason})") from None
    token, new = platform.tokens.device_token(identity.tenant, identity.user)
    platform.events.emit("token_issued" if new else "token_reused",
                         f"deviceAccessToken: {'new' if new else 'still valid'} token sent to {identity.user}",
                         tenant=identity.tenant, device=identity.device_id or "")
    return respond(request, {"accessToken": token})


def _sha256() -> hashes.HashAlgorithm:
    return hashes.SHA256()


@routes.post("/devicecontrol/bulkNewDeviceRequests")
async def bulk_registration(request: web.Request) -> web.Response:
    """Register the devices of a multipart CSV `file`; 201 with counters and per-row failures.

    The rows are processed in short transactions while the broker and other requests keep running; a client
    that disconnects does not stop the work (it finishes, the answer is dropped).
    """
    user = require_admin(request)
    if not request.content_type.startswith("multipart/"):
        raise invalid("devicecontrol", "Send the CSV as multipart/form-data with a part named 'file'.")
    if request.content_length is not None and request.content_length > _MAX_BULK_BODY:
        raise _too_large(f"The request body is {request.content_length:,} bytes; the limit is "
                         f"{_MAX_BULK_BODY // 1024 // 1024} MiB for the whole body and {_MAX_CSV // 1024 // 1024} "
                         "MiB for the CSV. Split the CSV into smaller files.")
    data = await _csv_part(request)
    if not data:
        raise invalid("devicecontrol", "The multipart body has no 'file' part (the CSV), or it is empty.")
    return respond(request, await register_bulk(request.app[PLATFORM], user.tenant, data), 201, BULK_MEDIA)


def _too_large(message: str) -> PlatformError:
    return PlatformError(413, "devicecontrol/Request Entity Too Large", message)


async def _csv_part(request: web.Request) -> bytes:
    """The bytes of the `file` part (b"" when there is none), read in pieces up to `_MAX_CSV`.

    Raises:
        PlatformError: 400 for a multipart body aiohttp cannot read, 413 for a CSV over the limit.
    """
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                continue
            data = bytearray()
            while chunk := await part.read_chunk(_READ_CHUNK):
                data += chunk
                if len(data) > _MAX_CSV:
                    raise _too_large(f"The CSV is larger than {_MAX_CSV // 1024 // 1024} MiB; split it into "
                                     "smaller files and post them one after the other.")
            await reader.release()  # up to the closing boundary: a cut-off upload is refused, not half-registered
            return bytes(data)
    except (ValueError, AssertionError, LookupError, RuntimeError, HttpProcessingError) as exc:
        log.info("bulk registration: unreadable multipart body (%s)", type(exc).__name__)
        raise PlatformError(400, "devicecontrol/Bad Request",
                            "The multipart body cannot be read: send the CSV as multipart/form-data with a boundary "
                            "in the Content-Type header and a part named 'file' (e.g. curl -F "
                            "'file=@devices.csv').") from None
    return b""


@routes.post("/devicecontrol/operations")
async def create_operation(request: web.Request) -> web.Response:
    """A PENDING operation; a connected device gets it on `s/ds` at once."""
    user = require_admin(request)
    platform = request.app[PLATFORM]
    operation = platform.inventory.create_operation(user.tenant, await json_body(request))
    platform.operation_created(user.tenant, operation)
    return respond(request, operation, 201)


@routes.get("/devicecontrol/operations")
async def list_operations(request: web.Request) -> web.Response:
    """Operations by deviceId, status and fragmentType."""
    user = user_of(request)
    require_query_object(request, "deviceId")
    found = visible(request, request.app[PLATFORM].inventory.list_operations(user.tenant, dict(request.query)),
                    "deviceId")
    return respond(request, page(request, found, "operations"))


@routes.get("/devicecontrol/operations/{id}")
async def get_operation(request: web.Request) -> web.Response:
    """One operation."""
    user = user_of(request)
    operation = request.app[PLATFORM].inventory.get_operation(user.tenant, request.match_info["id"])
    return respond(request, require_item(request, operation, "deviceId"))


@routes.put("/devicecontrol/operations/{id}")
async def update_operation(request: web.Request) -> web.Response:
    """Move an operation on over REST (what 501–506 do over MQTT)."""
    user = user_of(request)
    platform = request.app[PLATFORM]
    require_item(request, platform.inventory.get_operation(user.tenant, request.match_info["id"]), "deviceId")
    body = await json_body(request)
    if not isinstance(body, dict) or "status" not in body:
        raise invalid("devicecontrol", "The body needs a status.")
    extra = {k: v for k, v in body.items() if k != "status"}
    updated = platform.inventory.set_operation_status(user.tenant, request.match_info["id"],
                                                                   str(body["status"]), extra)
    return respond(request, updated)


__all__ = ["authenticate", "routes"]
