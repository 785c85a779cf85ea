"""Notification e-mails: "something new is in your eBox", digests, reminders; never any content.

- `services`: what is owed (the outbox rows written with the seal), claiming and sending, retries,
  recovery after a lost worker.
- `reminders`: the daily job that owes reminder e-mails, once per message and reason.
- `selectors`: what the portal shows (a delivery problem) and operators see.
- `mail`: rendering (HTML + plain text, in the citizen's language) and the SMTP transport.
"""
