"""Settings of the federation: how eBox describes itself as a message provider (federation 1.3).

Part of the project's settings (ebox.settings imports every upper-case name from here); each
comes from an environment variable documented in the configuration table of docs/operators.md.
"""

import environ

env = environ.Env()  # ebox.settings has already read the .env file into the environment

# eBox's own entry in GET /messageProviders, created on first use with these values (operators
# and the provider's own client change it afterwards; the row then wins over these defaults).
EBOX_MESSAGE_PROVIDER_ID = env.str("EBOX_MESSAGE_PROVIDER_ID", default="ebox")
EBOX_MESSAGE_PROVIDER_URL = env.str("EBOX_MESSAGE_PROVIDER_URL", default="https://ebox.example/api/v2/")
EBOX_MESSAGE_PROVIDER_CONTACT = env.str("EBOX_MESSAGE_PROVIDER_CONTACT", default="integration@ebox.example")

__all__ = [name for name in list(globals()) if name.isupper()]
