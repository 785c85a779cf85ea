"""Demo data and development-only helpers: the demo loader, `make run`'s stack, the SMTP sink and its
mail view, the development IdP's accounts. Nothing here runs in production."""
