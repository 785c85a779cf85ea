"""The publication API (eBox REST API 2.1 for sender applications) and reference data."""
