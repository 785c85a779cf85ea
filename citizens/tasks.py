"""Celery tasks of the citizens app: thin wrappers over citizens.services; arguments are ids (JSON)."""

from __future__ import annotations

from celery import shared_task

from citizens import services


@shared_task(
    name="citizens.send_verification_email",
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_kwargs={"max_retries": 5},
)
def send_verification_email(citizen_id: int, email: str) -> bool:
    return services.send_verification_email(citizen_id, email)


@shared_task(
    name="citizens.send_deactivation_email",
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_kwargs={"max_retries": 5},
)
def send_deactivation_email(citizen_id: int, email: str) -> bool:
    return services.send_deactivation_email(citizen_id, email)
