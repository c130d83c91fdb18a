"""Responses the edge generates itself (CloudFront's generated-response shape)."""

from __future__ import annotations

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} · VE.AI</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;color:#1d1d1f;background:#f5f5f7;margin:0;display:grid;place-items:center;min-height:100vh}}
main{{max-width:32rem;padding:2rem;text-align:center}}h1{{font-size:1.4rem}}small{{color:#6e6e73}}</style>
</head><body><main><h1>{title}</h1><p>{message}</p><small>VE.AI</small></main></body></html>
"""


def _headers(pairs: list[tuple[str, str]]) -> dict:
    return {key.lower(): [{"key": key, "value": value}] for key, value in pairs}


def not_found(host: str | None, max_age: int) -> dict:
    # host is normalised ([a-z0-9.-] only), so it is safe to place in HTML.
    where = f"<strong>{host}</strong>" if host else "This domain"
    body = _PAGE.format(
        title="Domain not connected",
        message=f"{where} is not connected to a VE.AI workspace.",
    )
    return {
        "status": "404",
        "statusDescription": "Not Found",
        "headers": _headers(
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", f"public, max-age={int(max_age)}"),
            ]
        ),
        "body": body,
        "bodyEncoding": "text",
    }


def unavailable(retry_after: int) -> dict:
    body = _PAGE.format(
        title="Temporarily unavailable",
        message="This gallery cannot be reached right now. Please try again in a moment.",
    )
    return {
        "status": "503",
        "statusDescription": "Service Unavailable",
        "headers": _headers(
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "no-store"),
                ("Retry-After", str(int(retry_after))),
            ]
        ),
        "body": body,
        "bodyEncoding": "text",
    }
