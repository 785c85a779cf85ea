"""Notification e-mails: "something new is in your eBox", digests, reminders; never any content.

- `owing`: what is owed (the outbox rows written with the seal), and asking a worker to send it.
- `sending`: claiming and sending, exactly once per citizen and window, retries.
- `recovery`: claims of lost workers, the beat's sending job, operators' requeue.
- `reminders`: the daily job that owes reminder e-mails, once per message and reason.
- `selectors`: what the portal shows (a delivery problem) and operators see.
- `mail`: rendering (HTML + plain text, in the citizen's language) and the SMTP transport.
"""
