# The spec's tables exactly, so `migrate --fake-initial` adopts a database made by the Node version.

import accounts.models
import django.db.models.deletion
import django.utils.timezone
import helpdesk.ids
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='User',
            fields=[
                ('id', models.CharField(default=helpdesk.ids.new_cuid, editable=False, max_length=25, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=191, verbose_name='name')),
                ('email', models.EmailField(max_length=191, unique=True, verbose_name='email')),
                ('password', models.CharField(db_column='password_hash', max_length=255, verbose_name='password')),
                ('role', models.CharField(choices=[('ADMIN', 'Admin'), ('CS', 'Customer service')], default='CS', max_length=5, verbose_name='role')),
                ('status_online', models.BooleanField(default=False, verbose_name='online')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='created at')),
            ],
            options={
                'verbose_name': 'user',
                'verbose_name_plural': 'users',
                'db_table': 'users',
                'ordering': ['name'],
            },
            managers=[
                ('objects', accounts.models.UserManager()),
            ],
        ),
        migrations.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', models.CharField(default=helpdesk.ids.new_cuid, editable=False, max_length=25, primary_key=True, serialize=False)),
                ('token', models.CharField(max_length=191, unique=True, verbose_name='token hash')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('expires_at', models.DateTimeField(verbose_name='expires at')),
                ('user', models.ForeignKey(db_column='user_id', on_delete=django.db.models.deletion.CASCADE, related_name='refresh_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'refresh token',
                'verbose_name_plural': 'refresh tokens',
                'db_table': 'refresh_tokens',
                'ordering': ['-created_at'],
            },
        ),
    ]
