"""The API's JSON parser: DRF's, with a body nested too deeply refused as bad input."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def json_too_deep() -> ParseError:
    return ParseError(_("The JSON is nested too deeply."))


class SafeJSONParser(JSONParser):
    """Python's json module recurses once per level: `[[[…]]]` a few thousand deep
    raises RecursionError, which DRF would let through as a 500 with a traceback."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise json_too_deep() from None
