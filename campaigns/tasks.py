"""Celery tasks of campaigns: thin wrappers over campaigns.services (queued by name)."""

from __future__ import annotations

from celery import shared_task

from campaigns.services import sending, validating


@shared_task(name="campaigns.validate_campaign", acks_late=True)
def validate_campaign(campaign_id: str) -> str:
    return validating.validate_campaign(campaign_id)


@shared_task(name="campaigns.resume_validating")
def resume_validating() -> int:
    return validating.resume_validating()


@shared_task(name="campaigns.send_campaign", acks_late=True)
def send_campaign(campaign_id: str) -> int:
    return sending.send_campaign(campaign_id)


@shared_task(name="campaigns.resume_sending")
def resume_sending() -> int:
    return sending.resume_sending()
