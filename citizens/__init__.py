"""Citizens: identity (OIDC), activation and consent, the inbox pages, partner grants, the access log."""
