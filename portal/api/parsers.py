"""The API's JSON parser: DRF's, with a cap on nesting (``portal.validation.MAX_JSON_DEPTH``):
Python's decoder gives up on JSON nested about a thousand deep with ``RecursionError``, which
DRF does not catch (a 500), and no field of the API nests more than a few levels."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from portal.validation import JSON_TOO_DEEP, json_depth_exceeds

TOO_DEEP = f"JSON parse error - {JSON_TOO_DEEP}"


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if json_depth_exceeds(data):
            raise ParseError(TOO_DEEP)
        return data
