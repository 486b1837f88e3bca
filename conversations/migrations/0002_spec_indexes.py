# The spec's three indexes. The guide has operators create them by hand, so a
# database adopted from the Node version may have them already.

from django.db import migrations, models

from conversations.schema import AddIndexIfMissing


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0001_initial'),
    ]

    operations = [
        AddIndexIfMissing(
            model_name='session',
            index=models.Index(fields=['client', 'status'], name='idx_sessions_client_status'),
        ),
        AddIndexIfMissing(
            model_name='chat',
            index=models.Index(fields=['session', 'created_at'], name='idx_chats_session_created'),
        ),
        AddIndexIfMissing(
            model_name='chat',
            index=models.Index(fields=['session', 'sender_type', 'is_read'], name='idx_chats_unread'),
        ),
    ]
