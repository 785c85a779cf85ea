"""Campaigns: many letters from one spreadsheet (a row per recipient) and a ZIP of PDFs.

- `spreadsheet`: reading CSV and XLSX rows; `documents`: the ZIP of PDFs, checked whole
  before anything is kept; `rows`: a row → the API's `messageToPublish`, and the validator's
  details → the cells to fix.
- `services`: uploading (every row validated by `senders.publication`, the API's validator),
  cancelling, and sending in chunks through the batch service
  (`messages.services.publishing.publish_messages`); `selectors`: progress and the report.
"""
