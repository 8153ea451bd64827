"""Sans-IO inventory and identity requests (managed objects and their external ids), the same for a tenant and the
local platform: SmartREST 2.0 template collections are managed objects found by an external id, so the template
commands need exactly these calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .requests import ApiRequest

MO_MEDIA = "application/vnd.com.nsn.cumulocity.managedobject+json"
EXTERNAL_ID_MEDIA = "application/vnd.com.nsn.cumulocity.externalid+json"


def find_by_external_id(id_type: str, value: str, auth: str = "basic") -> ApiRequest:
    """The external id's record (`managedObject.id` names the object); 404 when it is not bound."""
    return ApiRequest("GET", f"/identity/externalIds/{quote(id_type, safe='')}/{quote(value, safe='')}", auth=auth,
                      headers={"Accept": EXTERNAL_ID_MEDIA}, what=f"find {id_type} '{value}'")


def get_managed_object(mo_id: str, auth: str = "basic") -> ApiRequest:
    """One managed object with all its fragments."""
    return ApiRequest("GET", f"/inventory/managedObjects/{quote(mo_id, safe='')}", auth=auth,
                      headers={"Accept": MO_MEDIA}, what=f"read managed object {mo_id}")


def create_managed_object(body: dict[str, Any], what: str, auth: str = "basic") -> ApiRequest:
    """A new managed object; the answer carries its id."""
    return ApiRequest("POST", "/inventory/managedObjects", auth=auth, json=body,
                      headers={"Accept": MO_MEDIA, "Content-Type": MO_MEDIA}, what=what)


def update_managed_object(mo_id: str, body: dict[str, Any], what: str, auth: str = "basic") -> ApiRequest:
    """Replace the given fragments of a managed object (a fragment not named stays as it is)."""
    return ApiRequest("PUT", f"/inventory/managedObjects/{quote(mo_id, safe='')}", auth=auth, json=body,
                      headers={"Accept": MO_MEDIA, "Content-Type": MO_MEDIA}, what=what)


def bind_external_id(mo_id: str, id_type: str, value: str, auth: str = "basic") -> ApiRequest:
    """Give a managed object an external id (how devices and the cloud find a template collection)."""
    return ApiRequest("POST", f"/identity/globalIds/{quote(mo_id, safe='')}/externalIds", auth=auth,
                      json={"type": id_type, "externalId": value},
                      headers={"Accept": EXTERNAL_ID_MEDIA, "Content-Type": EXTERNAL_ID_MEDIA},
                      what=f"bind {id_type} '{value}' to managed object {mo_id}")
