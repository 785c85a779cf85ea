"""Signed callbacks to sending organisations: each status change of their messages, POSTed to their URL.

- `configuration`: an application's callback URL and signing secret (portal, admin, command).
- `outbox`: the outbox rows, written in the transaction of the change by the services that make it.
- `delivery`: claiming, signing and POSTing them in order per message, retries, recovery.
"""
