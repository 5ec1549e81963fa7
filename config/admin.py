from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from config.models import ApiKey

# The library registers its own concrete model; operators manage ours (with read_only) only.
admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "read_only")
    list_filter = ("read_only", "revoked", "created")
