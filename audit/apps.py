"""The audit app: the append-only, hash-chained trail of successful actions (eBox ATREQ01–04)."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
