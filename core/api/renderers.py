"""A JSON renderer with DRF's output, encoded by orjson (several times faster on big pages).

The bytes are those `rest_framework.renderers.JSONRenderer` writes with our settings (compact,
UTF-8, U+2028/U+2029 escaped): types orjson does not write the way DRF does (datetimes,
Decimal, UUID, lazy strings, ...) go to DRF's own encoder; a pretty-printing request
(`Accept: application/json; indent=4`) and what orjson refuses (NaN, which DRF refuses too,
integers past 64 bits) are rendered by DRF's renderer itself.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class OrjsonRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_encoder.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # Like DRF: these two are valid JSON but end a line in JavaScript.
        return rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
