# Columns Django and later features need beyond the spec's.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='last_login',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last login'),
        ),
        migrations.AddField(
            model_name='user',
            name='is_active',
            field=models.BooleanField(db_default=True, default=True, help_text='Inactive users cannot log in.', verbose_name='active'),
        ),
        migrations.AddField(
            model_name='refreshtoken',
            name='revoked_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='revoked at'),
        ),
    ]
