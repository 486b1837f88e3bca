# The console language each agent chooses; db_default keeps the Node version's inserts valid.

import accounts.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_assignment_order'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='language',
            field=models.CharField(blank=True, choices=accounts.models.language_choices, db_default='', default='', help_text='Language of the console; empty follows the browser.', max_length=8, verbose_name='language'),
        ),
    ]
