"""State changes of messages: the only code that writes messages. Views, serializers and tasks call it.

One module per concern (import from the one that owns the function):

- `publishing`: storing a publication, one or a batch (a campaign), and linking a stored content
  to more recipients; `NewMessage`, `AttachmentUpload`, `DuplicatePublication`.
- `sealing`: sealing accepted messages (`seal_messages`), dispatching it after commit, and the
  beat's re-dispatch of what was left `accepted`. (The seal document and its signature are
  `messages.signing`.)
- `reading`: decrypting and verified reading of a sealed message and its attachments,
  `mark_read`, `set_visibility`, the seal document of a stored message.
- `replies`: citizens' replies: storing, sealing and verified reading.
- `incidents`: recording failed integrity checks (`IntegrityFailure`, `record_incident`).
- `rows`: the publication's hot path: rows as dicts written in one statement or with COPY.
"""
