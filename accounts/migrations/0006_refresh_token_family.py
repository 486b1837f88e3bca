from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_console_seen_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="refreshtoken",
            name="family",
            field=models.CharField(
                blank=True, db_index=True, max_length=25, null=True, verbose_name="login chain"
            ),
        ),
    ]
