"""Reading and checking an Open311 `POST requests.json` form.

GeoReport v2 posts `application/x-www-form-urlencoded` fields; extra attributes come as
`attribute[code]=value` and, for multi-value lists, `attribute[code][]=value` repeated.
Every problem is collected, so the reporter's app can show them all at once.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.error_codes import ErrorCode
from app.errors import BadRequest
from app.models.service_requests import MAX_DESCRIPTION, ServiceAttribute

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()./ -]{3,50}$")
# The longest value of each plain field.
LIMITS = {
    "jurisdiction_id": 63,
    "service_code": 64,
    "api_key": 200,
    "description": MAX_DESCRIPTION,
    "address_string": 500,
    "address_id": 100,
    "zipcode": 20,
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 50,
    "device_id": 200,
    "account_id": 200,
    "media_url": 2000,
    "lat": 40,
    "long": 40,
}
MAX_STRING = 500
MAX_TEXT = MAX_DESCRIPTION


@dataclass
class RequestForm:
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    multi: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        value = self.fields.get(name, "").strip()
        return value or None


def read_form(items: list[tuple[str, Any]]) -> RequestForm:
    form = RequestForm()
    for name, value in items:
        if not isinstance(value, str):
            form.errors.append(f"{name}: files are not accepted; give media_url instead")
            continue
        match = _ATTRIBUTE.match(name)
        if match:
            code = match.group(1)
            form.attributes.setdefault(code, []).append(value.strip())
            if match.group(2):
                form.multi.add(code)
            continue
        if name not in LIMITS:
            continue  # unknown fields are ignored, as GeoReport clients add their own
        if name in form.fields:
            form.errors.append(f"{name} is given more than once")
            continue
        if len(value) > LIMITS[name]:
            form.errors.append(f"{name} is longer than {LIMITS[name]} characters")
            continue
        form.fields[name] = value
    return form


def raise_if(errors: list[str]) -> None:
    if errors:
        raise BadRequest(
            "; ".join(errors),
            code=ErrorCode.INVALID_REQUEST,
            errors=[{"loc": ["body"], "msg": e, "code": ErrorCode.INVALID_VALUE} for e in errors],
        )


def _coordinate(form: RequestForm, name: str, bound: float) -> float | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        form.errors.append(f"{name} is not a number")
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        form.errors.append(f"{name} must be between -{bound:g} and {bound:g}")
        return None
    return value


def location(form: RequestForm, required: bool) -> tuple[float | None, float | None]:
    lat = _coordinate(form, "lat", 90)
    long = _coordinate(form, "long", 180)
    if (form.get("lat") is None) != (form.get("long") is None):
        form.errors.append("lat and long go together")
    where = form.get("address_string") or form.get("address_id")
    if required and form.get("lat") is None and where is None:
        form.errors.append("this service needs a location: lat and long, or address_string")
    return lat, long


def contact(form: RequestForm) -> None:
    email = form.get("email")
    if email is not None and not _EMAIL.match(email):
        form.errors.append("email is not an email address")
    phone = form.get("phone")
    if phone is not None and not _PHONE.match(phone):
        form.errors.append("phone is not a phone number")
    media = form.get("media_url")
    if media is not None and not media.lower().startswith(("https://", "http://")):
        form.errors.append("media_url must be an http(s) address")


def _attribute_value(a: ServiceAttribute, values: list[str], form: RequestForm) -> Any:
    name = f"attribute[{a.code}]"
    keys = {v["key"] for v in a.values}
    if a.datatype == "multivaluelist":
        chosen = [v for v in values if v]
        unknown = [v for v in chosen if v not in keys]
        if unknown:
            form.errors.append(f"{name}: not a value of the list: {', '.join(unknown)}")
        return chosen
    if len(values) != 1 or a.code in form.multi:
        form.errors.append(f"{name} takes one value")
        return None
    value = values[0]
    if a.datatype == "singlevaluelist" and value not in keys:
        form.errors.append(f"{name}: not a value of the list: {value}")
    elif a.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            form.errors.append(f"{name} is not a number")
            return None
        if not math.isfinite(number):
            form.errors.append(f"{name} is not a number")
        return number
    elif a.datatype == "datetime":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            form.errors.append(f"{name} is not an ISO 8601 date-time")
    elif len(value) > (MAX_STRING if a.datatype == "string" else MAX_TEXT):
        form.errors.append(f"{name} is too long")
    return value


def attributes(form: RequestForm, definition: list[ServiceAttribute]) -> dict[str, Any]:
    """The attributes' values, checked against the service's definition."""
    known = {a.code: a for a in definition if a.variable}
    for code in form.attributes:
        if code not in known:
            form.errors.append(f"attribute[{code}] is not an attribute of this service")
    result: dict[str, Any] = {}
    for code, a in known.items():
        values = [v for v in form.attributes.get(code, []) if v]
        if not values:
            if a.required:
                form.errors.append(f"attribute[{code}] is required")
            continue
        result[code] = _attribute_value(a, values, form)
    return result
