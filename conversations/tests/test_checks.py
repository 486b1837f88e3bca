import uuid

import pytest
from django.core import checks
from django.db import connection

from conversations.checks import database_charset_warning


@pytest.mark.django_db
def test_the_test_database_passes_the_charset_check():
    found = checks.run_checks(databases=["default"], tags=[checks.Tags.database])
    assert [m for m in found if m.id == "conversations.W001"] == []


@pytest.mark.mariadb
@pytest.mark.django_db
def test_a_latin1_mysql_database_is_flagged():
    from django.db.backends.mysql.base import DatabaseWrapper

    name = f"helpdesk_latin1_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET latin1")
    probe = DatabaseWrapper({**connection.settings_dict, "NAME": name})
    try:
        warning = database_charset_warning(probe)
    finally:
        probe.close()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name}")
    assert warning is not None
    assert warning.id == "conversations.W001"
    assert "latin1" in warning.msg
