"""OpenAPI description of the partner apps' authentication (authorization code + PKCE)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oauth2_provider.contrib.rest_framework.authentication.OAuth2Authentication"
    name = "partnerOAuth2"
    priority = 1  # before drf-spectacular's own DOT extension, whose name the sender scheme uses

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "A partner app acting for one citizen who consented (authorization code with PKCE). "
            "Partner apps are registered by operators; the citizen can withdraw access at any time, which "
            "ends the app's tokens at once.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/o/authorize/",
                    "tokenUrl": "/o/token/",
                    "refreshUrl": "/o/token/",
                    "scopes": {
                        "ebox.read": "Read the citizen's eBox",
                        "ebox.manage": "Mark the citizen's messages read, archive and restore them",
                    },
                }
            },
        }

    def get_security_requirement(self, auto_schema):
        scope = "ebox.manage" if auto_schema.method in ("PATCH", "POST") else "ebox.read"
        return {self.name: [scope]}
