"""Settings of the REST API: Django REST framework and the OpenAPI document (drf-spectacular).

Part of the project's settings (ebox.settings imports every upper-case name from here).
"""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oauth2_provider.contrib.rest_framework.OAuth2Authentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # The API speaks JSON only (its documentation is /api/v2/docs/, not DRF's browsable pages).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded depth and numbers, no NUL or lone surrogate in strings (ebox.safe_input).
    "DEFAULT_PARSER_CLASSES": ["ebox.safe_input.SafeJSONParser"],
    # Every API error is the eBox spec's StatusMessage (id, code, message, details).
    "EXCEPTION_HANDLER": "senders.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "eBox API",
    "DESCRIPTION": "The public eBox REST API 2.1 (Message Registry, federation preferences) and our extensions.",
    "VERSION": "2.1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger UI puts them as <a> inside each operation's <button> (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    # The eBox contract's definitions become our components (senders/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "senders.api.schema.add_contract_components",
    ],
}
