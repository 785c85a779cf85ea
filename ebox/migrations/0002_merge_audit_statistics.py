# The audit trail and the statistics rollups were built side by side; this joins the two.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ebox", "0001_initial"),
        ("ebox", "0001_statistics"),
    ]

    operations = []
