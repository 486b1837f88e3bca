# The spec's tables exactly, so `migrate --fake-initial` adopts a database made by the Node version.

import django.db.models.deletion
import django.utils.timezone
import helpdesk.ids
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Client',
            fields=[
                ('id', models.CharField(default=helpdesk.ids.new_cuid, editable=False, max_length=25, primary_key=True, serialize=False)),
                ('telegram_id', models.CharField(max_length=191, unique=True, verbose_name='Telegram id')),
                ('name', models.CharField(max_length=191, verbose_name='name')),
                ('username', models.CharField(blank=True, max_length=191, null=True, verbose_name='username')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
            ],
            options={
                'verbose_name': 'client',
                'verbose_name_plural': 'clients',
                'db_table': 'clients',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Session',
            fields=[
                ('id', models.CharField(default=helpdesk.ids.new_cuid, editable=False, max_length=25, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('ACTIVE', 'Active'), ('ENDED', 'Ended')], default='ACTIVE', max_length=6, verbose_name='status')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('ended_at', models.DateTimeField(blank=True, null=True, verbose_name='ended at')),
                ('client', models.ForeignKey(db_column='client_id', on_delete=django.db.models.deletion.CASCADE, related_name='sessions', to='conversations.client')),
                ('cs', models.ForeignKey(blank=True, db_column='cs_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='sessions', to=settings.AUTH_USER_MODEL, verbose_name='agent')),
            ],
            options={
                'verbose_name': 'session',
                'verbose_name_plural': 'sessions',
                'db_table': 'sessions',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Chat',
            fields=[
                ('id', models.CharField(default=helpdesk.ids.new_cuid, editable=False, max_length=25, primary_key=True, serialize=False)),
                ('sender_type', models.CharField(choices=[('CLIENT', 'Client'), ('CS', 'Agent')], max_length=6, verbose_name='sender')),
                ('message_type', models.CharField(choices=[('TEXT', 'Text'), ('IMAGE', 'Image'), ('FILE', 'File'), ('VIDEO', 'Video'), ('LINK', 'Link')], default='TEXT', max_length=5, verbose_name='type')),
                ('message', models.TextField(blank=True, verbose_name='message')),
                ('file_url', models.CharField(blank=True, max_length=191, null=True, verbose_name='file URL')),
                ('is_read', models.BooleanField(default=False, verbose_name='read')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('session', models.ForeignKey(db_column='session_id', on_delete=django.db.models.deletion.CASCADE, related_name='chats', to='conversations.session')),
            ],
            options={
                'verbose_name': 'chat message',
                'verbose_name_plural': 'chat messages',
                'db_table': 'chats',
                'ordering': ['created_at'],
            },
        ),
    ]
