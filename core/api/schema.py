"""Tell drf-spectacular how our authentication classes appear in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.BearerApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key` or the admin.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A logged-in staff user of the admin (CSRF token required on writes).",
        }
