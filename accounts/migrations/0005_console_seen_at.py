from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="console_seen_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="console last seen"),
        ),
    ]
