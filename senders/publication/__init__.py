"""Business rules of a publication: a `messageToPublish` and its parts → a validated NewMessage.

Used by `/publishMessage` (multipart parts) and the batch extension (base64 documents).
Every faulty field gives one detail (see `senders.api.errors.detail`); nothing is
stored until everything checks out (storing is `messages.services.publishing`).

- `new_message`: the whole check of one publication (`build_new_message`), who publishes
  (`Context`), the look-ups a publication needs.
- `fields`: the checks of its fields (texts per language, recipient, payment and business
  data); `PublicationError` and its details.
- `attachments`: files: parts as received, media types detected from the bytes, the
  attachment list, base64 documents of the batch extension.
"""
