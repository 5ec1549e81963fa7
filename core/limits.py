"""How long free text may be, everywhere it enters: the API's serializers (shown as maxLength
in the OpenAPI schema) and the models, whose admin forms enforce it too."""

# Descriptions and notes; titles and names take 255.
LONG_TEXT_MAX_LENGTH = 10_000
