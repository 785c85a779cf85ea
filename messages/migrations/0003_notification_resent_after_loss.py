from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def resend_uncertain(apps, schema_editor):
    """E-mails the former policy left `uncertain` (maybe delivered, never resent) are sent again,
    with the same Message-ID, and counted as possible duplicates."""
    EmailNotification = apps.get_model("mailbox", "EmailNotification")
    EmailNotification.objects.filter(status="uncertain").update(
        status="pending",
        attempt_id=None,
        execute_after=timezone.now(),
        resent_after_loss=F("resent_after_loss") + 1,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0002_delivery_acknowledgement_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="emailnotification",
            name="resent_after_loss",
            field=models.PositiveSmallIntegerField(default=0, db_default=0),
        ),
        migrations.RunPython(resend_uncertain, migrations.RunPython.noop),
    ]
