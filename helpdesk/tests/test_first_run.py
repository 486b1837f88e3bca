"""What a new user gets after `./dev run`: the seeded admin logs into the Django admin."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_seeded_admin_logs_into_the_django_admin(client):
    call_command("seed", verbosity=0)

    assert client.get("/").url == "/console/"
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin@helpdesk.com", "password": "admin123"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/"
    assert b"Clients" in response.content and b"Chat messages" in response.content


@pytest.mark.django_db
def test_a_seeded_agent_is_refused_by_the_django_admin(client):
    call_command("seed", verbosity=0)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "cs1@helpdesk.com", "password": "cs123"},
    )
    assert response.status_code == 200  # the form again, with an error
    assert b"correct email and password for a staff account" in response.content
