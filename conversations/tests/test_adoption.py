"""A database laid out by the original Node/Prisma version is adopted, not rebuilt.

The DDL below is what Prisma's MySQL migrations write for the spec's schema
(VARCHAR(191) CUIDs, ENUM columns, DATETIME(3), Prisma's key names), plus the
three indexes the guide tells operators to create by hand.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import bcrypt
import pytest
from django.db import connection

from helpdesk.tests.processes import mariadb_url

# transaction=True: the Node rows must be committed before another process migrates.
pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]
BASE_DIR = Path(__file__).resolve().parents[2]

PRISMA_SCHEMA = [
    """CREATE TABLE `users` (
        `id` VARCHAR(191) NOT NULL, `name` VARCHAR(191) NOT NULL,
        `email` VARCHAR(191) NOT NULL, `password_hash` VARCHAR(191) NOT NULL,
        `role` ENUM('ADMIN', 'CS') NOT NULL DEFAULT 'CS',
        `status_online` BOOLEAN NOT NULL DEFAULT false,
        `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE INDEX `users_email_key`(`email`), PRIMARY KEY (`id`)
    ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    """CREATE TABLE `clients` (
        `id` VARCHAR(191) NOT NULL, `telegram_id` VARCHAR(191) NOT NULL,
        `name` VARCHAR(191) NOT NULL, `username` VARCHAR(191) NULL,
        `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE INDEX `clients_telegram_id_key`(`telegram_id`), PRIMARY KEY (`id`)
    ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    """CREATE TABLE `sessions` (
        `id` VARCHAR(191) NOT NULL, `client_id` VARCHAR(191) NOT NULL,
        `cs_id` VARCHAR(191) NULL, `status` ENUM('ACTIVE', 'ENDED') NOT NULL DEFAULT 'ACTIVE',
        `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        `ended_at` DATETIME(3) NULL, PRIMARY KEY (`id`)
    ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    """CREATE TABLE `chats` (
        `id` VARCHAR(191) NOT NULL, `session_id` VARCHAR(191) NOT NULL,
        `sender_type` ENUM('CLIENT', 'CS') NOT NULL,
        `message_type` ENUM('TEXT', 'IMAGE', 'FILE', 'VIDEO', 'LINK') NOT NULL DEFAULT 'TEXT',
        `message` TEXT NOT NULL, `file_url` VARCHAR(191) NULL,
        `is_read` BOOLEAN NOT NULL DEFAULT false,
        `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), PRIMARY KEY (`id`)
    ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    """CREATE TABLE `refresh_tokens` (
        `id` VARCHAR(191) NOT NULL, `user_id` VARCHAR(191) NOT NULL,
        `token` VARCHAR(191) NOT NULL,
        `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        `expires_at` DATETIME(3) NOT NULL,
        UNIQUE INDEX `refresh_tokens_token_key`(`token`), PRIMARY KEY (`id`)
    ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    "ALTER TABLE `sessions` ADD CONSTRAINT `sessions_client_id_fkey` FOREIGN KEY (`client_id`)"
    " REFERENCES `clients`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE",
    "ALTER TABLE `sessions` ADD CONSTRAINT `sessions_cs_id_fkey` FOREIGN KEY (`cs_id`)"
    " REFERENCES `users`(`id`) ON DELETE SET NULL ON UPDATE CASCADE",
    "ALTER TABLE `chats` ADD CONSTRAINT `chats_session_id_fkey` FOREIGN KEY (`session_id`)"
    " REFERENCES `sessions`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE",
    "ALTER TABLE `refresh_tokens` ADD CONSTRAINT `refresh_tokens_user_id_fkey` FOREIGN KEY"
    " (`user_id`) REFERENCES `users`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE",
    # The guide's "Index Optimization", created by hand.
    "CREATE INDEX idx_sessions_client_status ON sessions(client_id, status)",
    "CREATE INDEX idx_chats_session_created ON chats(session_id, created_at)",
    "CREATE INDEX idx_chats_unread ON chats(session_id, sender_type, is_read)",
]
NODE_DATA = [
    "INSERT INTO users (id, name, email, password_hash, role) VALUES "
    "('ckadmin00000000000000000a', 'Admin', 'Admin@Helpdesk.com', %s, 'ADMIN'),"
    "('ckcs10000000000000000000a', 'CS 1', 'cs1@helpdesk.com', %s, 'CS')",
    "INSERT INTO clients (id, telegram_id, name, username) VALUES "
    "('ckclient0000000000000000a', '100000001', 'John Doe', 'johndoe')",
    "INSERT INTO sessions (id, client_id, cs_id, status, created_at) VALUES "
    "('cksession000000000000000a', 'ckclient0000000000000000a', 'ckcs10000000000000000000a', "
    "'ACTIVE', '2024-05-01 09:00:00')",
    "INSERT INTO chats (id, session_id, sender_type, message, created_at) VALUES "
    "('ckchat000000000000000000a', 'cksession000000000000000a', 'CLIENT', 'Halo 👋🏽', "
    "'2024-05-01 09:05:00')",
]
CHECK_WITH_OUR_CODE = """
from django.contrib.auth import authenticate
from django.test import RequestFactory
from accounts.models import User
from conversations.models import Chat, Session
from conversations.services import IncomingMessage, chat_record_incoming
# With a request, as the login view calls it: axes refuses authenticate() without one.
admin = authenticate(
    RequestFactory().post("/login/"), email="admin@helpdesk.com", password="admin123"
)
assert admin is not None and admin.is_staff, "Node admin cannot log in"
from datetime import datetime, timedelta, UTC
# The lists' stored activity is backfilled from the Node messages.
assert Session.objects.get().last_activity_at == datetime(2024, 5, 1, 9, 5, tzinfo=UTC)
assert User.objects.get(pk=admin.pk).password.startswith("argon2$"), "hash not upgraded"
recorded = chat_record_incoming(incoming=IncomingMessage(
    telegram_id="100000001", name="John Doe", username="johndoe",
    telegram_message_id=77, message_type="TEXT", text="still waiting"))
assert recorded.session.pk == "cksession000000000000000a", "did not join the Node session"
assert list(Session.objects.get().chats.values_list("message", flat=True)) == [
    "Halo 👋🏽", "still waiting"]
# Node's DATETIME(3) keeps the message's milliseconds; the new column keeps microseconds.
newest = Chat.objects.latest("created_at").created_at
assert newest <= Session.objects.get().last_activity_at < newest + timedelta(milliseconds=1)
# A writer that knows nothing of last_activity_at (the Node version) can still insert.
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO sessions (id, client_id, status) VALUES "
                   "('cksession000000000000000b', 'ckclient0000000000000000a', 'ENDED')")
assert Session.objects.get(pk="cksession000000000000000b").last_activity_at is not None
print("ADOPTED")
"""


def test_migrate_fake_initial_adopts_a_node_database():
    name = f"helpdesk_node_{uuid.uuid4().hex[:8]}"
    settings = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"USE {name}")
            for statement in PRISMA_SCHEMA:
                cursor.execute(statement)
            hashes = [bcrypt.hashpw(p, bcrypt.gensalt(12, prefix=b"2a")).decode()
                      for p in (b"admin123", b"cs123")]  # fmt: skip
            cursor.execute(NODE_DATA[0], hashes)
            for statement in NODE_DATA[1:]:
                cursor.execute(statement)
            cursor.execute(f"USE {settings['NAME']}")
        environment = {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "SECRET_KEY": "test",
            "DATABASE_URL": mariadb_url(database=name),
        }

        def manage(*args: str) -> str:
            result = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=180,
                check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        migrated = manage("migrate", "--fake-initial", "--noinput")
        assert "accounts.0001_initial... FAKED" in migrated
        assert "conversations.0001_initial... FAKED" in migrated
        assert "ADOPTED" in manage("shell", "-c", CHECK_WITH_OUR_CODE)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"USE {settings['NAME']}")
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
