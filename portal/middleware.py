"""Refuse NUL bytes in what a request says, before any of it reaches a query.

PostgreSQL cannot hold NUL (0x00) in text, not even as a value to compare
with, so one in a query parameter, a header, a cookie or a form field turned
into a 500 wherever it met a lookup: the API's workspace parameter and
header, its Idempotency-Key and API key, the session cookie on every page,
the admin's filters and actions. Nothing the portal accepts may contain one,
so they are refused here, in one place, as a 400 (the API's JSON error under
/api/, see portal.urls.handler400). JSON bodies are DRF's: its CharField
refuses NUL itself.
"""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.http.request import HttpHeaders
from django.urls import get_resolver

NUL = "\x00"
NUL_REFUSED = "NUL bytes are not allowed."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UnreadableRequest(BadRequest):
    """A request the portal will not read; `where` names the parameter, header or field."""

    def __init__(self, where: str, reason: str = NUL_REFUSED) -> None:
        super().__init__(f"{reason[:-1]} in {where}.")
        self.where = where
        self.reason = reason


def _in_pairs(pairs, kind: str) -> str | None:
    for key, values in pairs:
        if NUL in key:
            return kind
        if any(NUL in value for value in values):
            return key
    return None


def nul_byte_in(request: HttpRequest) -> str | None:
    """Where the request carries a NUL byte (the path, a parameter, a header, a form field), or None."""
    if NUL in request.path_info:
        return "path"
    if where := _in_pairs(request.GET.lists(), "query string"):
        return where
    for key, value in request.META.items():
        if isinstance(value, str) and NUL in value:
            name = HttpHeaders.parse_header_name(key)
            if name is not None:
                return name
    # Cookie values are unquoted after parsing: "\000" inside quotes is a NUL too.
    if _in_pairs(((name, [value]) for name, value in request.COOKIES.items()), "Cookie"):
        return "Cookie"
    if request.method == "POST" and request.content_type in FORM_TYPES:
        return _in_pairs(request.POST.lists(), "form")
    return None


class RefuseNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if where := nul_byte_in(request):
            raise UnreadableRequest(where)
        return self.get_response(request)


# Django's yellow DEBUG pages (technical_404.html, technical_500.html) carry this tag.
DEBUG_PAGE_MARK = b'<meta name="robots" content="NONE,NOARCHIVE">'


class SiteErrorPagesMiddleware:
    """The site's own 404 and 500 pages even with DEBUG on, as the local stack runs.

    With DEBUG, Django answers an unknown path or an unexpected error with its
    debug page (the URL list, settings, a traceback) rather than the handlers in
    portal.urls; a person trying the local stack should see what production shows.
    The error itself is still logged as usual. 403 already uses the site's page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code in (404, 500)
            and not getattr(response, "streaming", False)
            and DEBUG_PAGE_MARK in response.content
        ):
            # The ROOT_URLCONF's handlers, found through the resolver as Django finds them.
            handler = get_resolver().resolve_error_handler(response.status_code)
            return handler(request, None) if response.status_code == 404 else handler(request)
        return response
