import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "mysql":
        return
    skip = pytest.mark.skip(reason="needs MariaDB/MySQL (runs in the MariaDB pass)")
    for item in items:
        if item.get_closest_marker("mariadb"):
            item.add_marker(skip)


@pytest.fixture
def make_user(db):
    """Create users with a known password; role CS unless told otherwise."""
    from accounts.models import User

    def make(
        email: str, *, name: str = "", role: str = User.Role.CS, password: str = "pw-secret-1"
    ):
        return User.objects.create_user(email, name or email.split("@")[0], password, role=role)

    return make


@pytest.fixture
def admin_user(make_user):
    from accounts.models import User

    return make_user("admin@helpdesk.com", name="Admin", role=User.Role.ADMIN)


@pytest.fixture
def cs_user(make_user):
    return make_user("cs1@helpdesk.com", name="CS One")
