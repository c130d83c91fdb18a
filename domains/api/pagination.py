"""Cursor pagination for the API's lists: a cursor we did not issue is a 400 on `cursor`, never a 500.

DRF decodes a cursor (base64 of `o=offset&r=reverse&p=position`) and filters on
the position as it finds it, so a crafted position the ordering field cannot
hold (`p=notadate`) fails inside the query. Here the whole cursor is checked
first: only the keys DRF writes, each once, and a position the ordering field
accepts (for a datetime, one that exists in UTC).
"""

import binascii
from base64 import b64decode
from datetime import UTC, datetime
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination

INVALID_CURSOR = "Invalid cursor."
CURSOR_KEYS = {"o", "r", "p"}


class InvalidCursor(exceptions.ValidationError):
    def __init__(self):
        super().__init__({"cursor": [INVALID_CURSOR]})


class Pagination(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    _position_field: Field | None = None

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        self._position_field = queryset.model._meta.get_field(self.ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=True)
        except (UnicodeError, ValueError, binascii.Error):
            raise InvalidCursor() from None
        if not set(tokens) <= CURSOR_KEYS or any(len(values) != 1 for values in tokens.values()):
            raise InvalidCursor()
        return self._checked(
            offset=tokens.get("o", ["0"])[0], reverse=tokens.get("r", ["0"])[0], position=tokens.get("p", [None])[0]
        )

    def _checked(self, *, offset: str, reverse: str, position: str | None) -> Cursor:
        if not offset.isdecimal() or int(offset) > self.offset_cutoff or reverse not in ("0", "1"):
            raise InvalidCursor()
        if position is not None:
            position = self._position(position)
        return Cursor(offset=int(offset), reverse=reverse == "1", position=position)

    def _position(self, position: str) -> str:
        """The position as the ordering field will read it; InvalidCursor if it cannot."""
        if "\x00" in position or self._position_field is None:
            raise InvalidCursor()
        try:
            value = self._position_field.to_python(position)
            if isinstance(value, datetime):
                if timezone.is_naive(value):
                    value = timezone.make_aware(value, UTC)
                return value.astimezone(UTC).isoformat()
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise InvalidCursor() from None
        if value is None:
            raise InvalidCursor()
        return position


class DomainPagination(Pagination):
    ordering = ("-created_at", "-id")


class EventPagination(Pagination):
    ordering = ("-created_at", "-id")


class CheckPagination(Pagination):
    ordering = ("-checked_at", "-id")
