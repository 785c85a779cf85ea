"""The eBox 2.1 JSON shapes of a citizen's messages (definitions `Message`, `Attachment`, `Ebox`…)."""

from __future__ import annotations

import datetime as dt

from messages.models import Attachment, Message
from messages.services.reading import MessageText, attachment_meta


def timestamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def attachment_json(message: Message, attachment: Attachment, request) -> dict:
    meta = attachment_meta(message, attachment)
    data = {
        "attachmentId": str(attachment.id),
        "fileName": meta.get("fileName", ""),
        "mainContent": attachment.main_content,
        "mediaType": attachment.media_type,
        "size": round(attachment.size / 1024, 3),
        "digest": {"digestMethod": "sha_256", "digestValue": _b64url_of_hex(attachment.sha256)},
        "attachmentSigned": attachment.signed,
        "contentHref": request.build_absolute_uri(
            f"/api/v2/ebox/messages/{message.id}/attachments/{attachment.id}/content"
        ),
    }
    if meta.get("title"):
        data["attachmentTitle"] = meta["title"]
    return data


def _b64url_of_hex(hex_digest: str) -> str:
    import base64

    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode()


def payment_json(message: Message, text: MessageText) -> dict | None:
    if not text.payment_data:
        return None
    data = dict(text.payment_data)
    data.setdefault("paymentDataId", str(message.id))
    data.setdefault("vatAmount", 0.0)
    data.setdefault("currency", "EUR")
    if data.get("dueDate") and len(str(data["dueDate"])) == 10:
        data["dueDate"] = f"{data['dueDate']}T00:00:00Z"
    return data


def message_json(message: Message, text: MessageText, attachments: list[Attachment], request) -> dict:
    data = {
        "messageId": str(message.id),
        "subject": text.subject,
        "receiptDate": timestamp(message.received_at),
        "expirationDate": timestamp(message.expires_at),
        "readStatus": message.read_at is not None,
        "visible": message.hidden_at is None,
        "registeredMail": message.registered_mail,
        "messageTypeId": message.message_type.message_type_id,
        "senderOrganizationId": message.sender_organisation.enterprise_number,
        "senderApplicationId": message.sender_application.application_id,
        "attachments": {
            "items": [attachment_json(message, a, request) for a in attachments],
            "totalItems": len(attachments),
        },
        "bodyMainContent": message.body_main_content,
        "replyAuthorized": message.reply_authorized,
    }
    if message.original_message_id:
        data["originalMessageId"] = str(message.original_message_id)
    if message.for_the_attention_of:
        data["forTheAttentionOf"] = message.for_the_attention_of
    payment = payment_json(message, text)
    if payment:
        data["paymentData"] = payment
    if text.business_data:
        data["businessDataList"] = {"items": text.business_data, "totalItems": len(text.business_data)}
    return data
