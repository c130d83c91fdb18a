"""The API's JSON parser: DRF's, with a nesting limit.

Python's decoder recurses once per level, so `[[[[…` 100,000 deep ends in a
RecursionError (a 500) rather than a ValueError. No request this API accepts
nests beyond a few levels; anything deeper than MAX_DEPTH is a parse error.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested more than {MAX_DEPTH} levels deep."


def nesting_depth_exceeds(value: object, limit: int) -> bool:
    """Whether arrays and objects in `value` nest deeper than `limit` (iterative: no recursion of its own)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nesting_depth_exceeds(data, MAX_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
