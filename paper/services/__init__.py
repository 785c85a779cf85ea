"""The paper service's state changes: `queueing` (letters into the print queue), `batches` (print runs
and their acknowledgement)."""
