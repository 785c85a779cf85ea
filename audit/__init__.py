"""The audit trail: models, the service that appends and verifies entries, the recording middleware."""
