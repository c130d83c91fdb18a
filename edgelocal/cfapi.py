"""CloudFront's REST-XML protocol for the operations the stand-in serves, read from botocore's own model.

Nothing here spells a URI, an element name or a header by hand: routes,
request members (URI, query string, headers, XML body), response members
(headers, payload) and error status codes all come from the CloudFront service
model that botocore ships (``cloudfront/2020-05-31``), so what the stand-in
answers parses under the very client the portal uses. Enum values, which
botocore does not check on the client, are checked here (``InvalidArgument``),
as CloudFront does.

    route(method, path)                       -> (operation name, URI parameters) or None
    parse_request(operation, uri_params, query, headers, body) -> dict in boto3's shape
    serialize_response(operation, result)     -> (status, headers, body)
    serialize_error(ApiError)                 -> (status, headers, body)
"""

from __future__ import annotations

import datetime
import functools
import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import botocore.session
from botocore.model import OperationModel, Shape

NAMESPACE = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

# The subset the portal uses (and the reads that make the stand-in inspectable).
OPERATIONS = (
    "CreateDistributionTenant",
    "GetDistributionTenant",
    "GetDistributionTenantByDomain",
    "UpdateDistributionTenant",
    "DeleteDistributionTenant",
    "ListDistributionTenants",
    "GetManagedCertificateDetails",
    "CreateInvalidationForDistributionTenant",
    "GetInvalidationForDistributionTenant",
    "ListInvalidationsForDistributionTenant",
)

# Errors CloudFront answers that are not in any operation's model (common to every AWS service).
COMMON_ERRORS = {"Throttling": 400, "ServiceUnavailable": 503, "InternalFailure": 500}


class ApiError(Exception):
    """A CloudFront error: its code (the model's error shape name) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        if self.code in COMMON_ERRORS:
            return COMMON_ERRORS[self.code]
        return _model().shape_for(self.code).metadata["error"]["httpStatusCode"]


@functools.cache
def _model():
    return botocore.session.get_session().get_service_model("cloudfront")


def operation(name: str) -> OperationModel:
    return _model().operation_model(name)


@functools.cache
def _routes() -> tuple[tuple[str, re.Pattern, str], ...]:
    routes = []
    for name in OPERATIONS:
        http = operation(name).http
        path, _, _ = http["requestUri"].partition("?")
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    return tuple(routes)


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The operation a request is for, with its URI parameters (decoded); None when there is none."""
    for route_method, pattern, name in _routes():
        match = pattern.match(path)
        if match and route_method == method:
            return name, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
    return None


def path_exists(path: str) -> bool:
    return any(pattern.match(path) for _, pattern, _ in _routes())


# Requests ---------------------------------------------------------------------------------------


def parse_request(
    name: str,
    uri_params: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> dict:
    """The request's members as boto3 takes them (strings, ints, bools, lists, dicts)."""
    shape = operation(name).input_shape
    if shape is None:
        return {}
    result: dict = {}
    payload = shape.serialization.get("payload")
    body_members = {}
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", member_name)
        if location == "uri":
            if wire_name in uri_params:
                result[member_name] = uri_params[wire_name]
        elif location == "querystring":
            if wire_name in query:
                result[member_name] = _scalar(member, query[wire_name][0])
        elif location == "header":
            value = _header(headers, wire_name)
            if value is not None:
                result[member_name] = _scalar(member, value)
        elif payload is None or member_name == payload:
            body_members[member_name] = member
    if body_members and body.strip():
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise ApiError("InvalidArgument", f"The XML you provided was not well-formed: {exc}") from None
        if payload is not None:
            result[payload] = _parse(body_members[payload], root)
        else:
            result.update(_parse(shape, root, only=body_members))
    _check_required(shape, result, name)
    return result


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse(shape: Shape, node: ET.Element, only: Mapping[str, Shape] | None = None):
    kind = shape.type_name
    if kind == "structure":
        members = only if only is not None else shape.members
        by_wire = {m.serialization.get("name", n): (n, m) for n, m in members.items()}
        out: dict = {}
        for child in node:
            found = by_wire.get(_local(child.tag))
            if found is not None:
                out[found[0]] = _parse(found[1], child)
        return out
    if kind == "list":
        # Every child is a member, whatever its element is called (botocore says <member>,
        # AWS's documents the shape's name; CloudFront takes both).
        return [_parse(shape.member, child) for child in node]
    return _scalar(shape, node.text or "")


def _scalar(shape: Shape, text: str):
    kind = shape.type_name
    if kind == "boolean":
        if text.strip() not in ("true", "false"):
            raise ApiError("InvalidArgument", f"{text!r} is not a boolean (true or false).")
        return text.strip() == "true"
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise ApiError("InvalidArgument", f"{text!r} is not an integer.") from None
    if shape.enum and text not in shape.enum:
        raise ApiError(
            "InvalidArgument",
            f"{text!r} is not a valid value for {shape.name}; use one of {', '.join(shape.enum)}.",
        )
    return text


def _check_required(shape: Shape, value: Mapping, where: str) -> None:
    for member_name in shape.required_members:
        if member_name not in value:
            raise ApiError("InvalidArgument", f"{where}: {member_name} is required.")
    for member_name, member in shape.members.items():
        inner = value.get(member_name)
        if member.type_name == "structure" and isinstance(inner, Mapping):
            _check_required(member, inner, member_name)
        elif member.type_name == "list" and member.member.type_name == "structure" and isinstance(inner, list):
            for item in inner:
                _check_required(member.member, item, member_name)


# Responses --------------------------------------------------------------------------------------


def serialize_response(name: str, result: Mapping) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and XML body of a successful answer, from a dict in boto3's response shape."""
    op = operation(name)
    status = op.http.get("responseCode", 200)
    headers = [("x-amz-request-id", _request_id())]
    shape = op.output_shape
    if shape is None:
        return status, headers, b""
    body_members = {}
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "header":
            if result.get(member_name) is not None:
                headers.append((member.serialization.get("name", member_name), str(result[member_name])))
        else:
            body_members[member_name] = member
    payload = shape.serialization.get("payload")
    if payload is not None:
        if result.get(payload) is None:
            return status, headers, b""
        member = shape.members[payload]
        root = _element(member.serialization.get("name", payload), member, result[payload])
    else:
        root = ET.Element(shape.name)
        _fill(root, shape, result, only=body_members)
    root.set("xmlns", NAMESPACE)
    headers.append(("Content-Type", "text/xml"))
    return status, headers, b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)


def serialize_error(error: ApiError) -> tuple[int, list[tuple[str, str]], bytes]:
    request_id = _request_id()
    root = ET.Element("ErrorResponse", xmlns=NAMESPACE)
    inner = ET.SubElement(root, "Error")
    ET.SubElement(inner, "Type").text = "Sender" if error.status < 500 else "Receiver"
    ET.SubElement(inner, "Code").text = error.code
    ET.SubElement(inner, "Message").text = error.message
    ET.SubElement(root, "RequestId").text = request_id
    headers = [("x-amz-request-id", request_id), ("Content-Type", "text/xml")]
    return error.status, headers, b'<?xml version="1.0"?>\n' + ET.tostring(root)


def _element(tag: str, shape: Shape, value) -> ET.Element:
    node = ET.Element(tag)
    _fill(node, shape, value)
    return node


def _fill(node: ET.Element, shape: Shape, value, only: Mapping[str, Shape] | None = None) -> None:
    kind = shape.type_name
    if kind == "structure":
        members = only if only is not None else shape.members
        for member_name, member in members.items():
            if value.get(member_name) is not None:
                node.append(_element(member.serialization.get("name", member_name), member, value[member_name]))
    elif kind == "list":
        member = shape.member
        tag = member.serialization.get("name") or member.name
        for item in value:
            node.append(_element(tag, member, item))
    elif kind == "boolean":
        node.text = "true" if value else "false"
    elif kind == "timestamp":
        node.text = _timestamp(value)
    else:
        node.text = str(value)


def _timestamp(value) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _request_id() -> str:
    return str(uuid.uuid4())
