"""Senders: organisations, their sender applications (OAuth clients), message types, the publication API."""
