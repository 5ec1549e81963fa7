from rest_framework.parsers import JSONParser


class AnyContentTypeJSONParser(JSONParser):
    """Read every request body as JSON, whatever its Content-Type.

    Clients (Kener's included) send JSON with missing or odd content types; anything that is
    not JSON then gets the spec's 400 "Invalid JSON body" rather than a 415.
    """

    media_type = "*/*"
