"""Messages: content (encrypted at rest), attachments, replies, events, seals, and the tasks that move them."""
