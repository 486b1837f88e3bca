"""The database is the spec's contract: table, column and index names as the guide writes them."""

import pytest
from django.core.management import call_command
from django.db import connection

from conversations.models import Chat, Client, Session

SPEC_COLUMNS = {
    "users": {"id", "name", "email", "password_hash", "role", "status_online", "created_at"},
    "clients": {"id", "telegram_id", "name", "username", "created_at"},
    "sessions": {"id", "client_id", "cs_id", "status", "created_at", "ended_at"},
    "chats": {
        "id",
        "session_id",
        "sender_type",
        "message_type",
        "message",
        "file_url",
        "is_read",
        "created_at",
    },
    "refresh_tokens": {"id", "user_id", "token", "created_at", "expires_at"},
}
SPEC_INDEXES = {
    "sessions": {"idx_sessions_client_status": ["client_id", "status"]},
    "chats": {
        "idx_chats_session_created": ["session_id", "created_at"],
        "idx_chats_unread": ["session_id", "sender_type", "is_read"],
    },
}
SPEC_UNIQUE = {"users": "email", "clients": "telegram_id", "refresh_tokens": "token"}
SPEC_FOREIGN_KEYS = {
    ("sessions", "client_id"): "clients",
    ("sessions", "cs_id"): "users",
    ("chats", "session_id"): "sessions",
    ("refresh_tokens", "user_id"): "users",
}


def constraints(table: str) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def columns(table: str) -> dict:
    with connection.cursor() as cursor:
        return {c.name: c for c in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.django_db
class TestSpecSchema:
    def test_every_spec_table_and_column_exists(self):
        tables = set(connection.introspection.table_names())
        for table, spec_columns in SPEC_COLUMNS.items():
            assert table in tables
            assert spec_columns <= set(columns(table)), table

    def test_primary_keys_are_25_character_strings(self):
        for table in SPEC_COLUMNS:
            pk = [name for name, c in constraints(table).items() if c["primary_key"]]
            assert constraints(table)[pk[0]]["columns"] == ["id"]
            if connection.vendor == "mysql":
                assert columns(table)["id"].internal_size == 25, table

    def test_the_spec_indexes_exist_by_name(self):
        for table, indexes in SPEC_INDEXES.items():
            found = constraints(table)
            for name, index_columns in indexes.items():
                assert name in found, f"{name} missing on {table}"
                assert found[name]["columns"] == index_columns

    def test_the_spec_unique_keys_exist(self):
        for table, column in SPEC_UNIQUE.items():
            assert any(
                c["unique"] and c["columns"] == [column] for c in constraints(table).values()
            ), f"{table}.{column} is not unique"

    def test_the_spec_foreign_keys_exist(self):
        for (table, column), target in SPEC_FOREIGN_KEYS.items():
            assert any(
                c["foreign_key"] and c["columns"] == [column] and c["foreign_key"][0] == target
                for c in constraints(table).values()
            ), f"{table}.{column} → {target} missing"

    def test_nullable_columns_follow_the_spec(self):
        assert columns("clients")["username"].null_ok
        assert columns("sessions")["cs_id"].null_ok
        assert columns("sessions")["ended_at"].null_ok
        assert columns("chats")["file_url"].null_ok
        assert not columns("chats")["message"].null_ok

    def test_enum_values_are_the_specs(self):
        from accounts.models import User

        assert set(User.Role.values) == {"ADMIN", "CS"}
        assert set(Session.Status.values) == {"ACTIVE", "ENDED"}
        assert set(Chat.SenderType.values) == {"CLIENT", "CS"}
        assert set(Chat.MessageType.values) == {"TEXT", "IMAGE", "FILE", "VIDEO", "LINK"}

    @pytest.mark.mariadb
    def test_tables_are_utf8mb4_unicode_on_mariadb(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, table_collation FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name IN (%s, %s, %s, %s, %s)",
                list(SPEC_COLUMNS),
            )
            collations = dict(cursor.fetchall())
        assert collations == dict.fromkeys(SPEC_COLUMNS, "utf8mb4_unicode_ci")


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


@pytest.mark.django_db
class TestData:
    EMOJI_TEXT = "Halo 👋🏽 terima kasih 🙏 — 𝒽𝑒𝓁𝓅 🇮🇩 <b>&amp;</b>"

    def test_4_byte_emoji_round_trips_unchanged(self, cs_user):
        client = Client.objects.create(telegram_id="42", name="Budi 😀", username="budi")
        session = Session.objects.create(client=client, cs=cs_user)
        chat = Chat.objects.create(
            session=session, sender_type=Chat.SenderType.CLIENT, message=self.EMOJI_TEXT
        )
        assert Chat.objects.get(pk=chat.pk).message == self.EMOJI_TEXT
        assert Chat.objects.filter(message__contains="👋🏽").get() == chat
        assert Client.objects.get(pk=client.pk).name == "Budi 😀"

    def test_deleting_an_agent_keeps_the_conversation(self, cs_user):
        client = Client.objects.create(telegram_id="42", name="Budi")
        session = Session.objects.create(client=client, cs=cs_user)
        Chat.objects.create(session=session, sender_type=Chat.SenderType.CLIENT, message="hi")

        cs_user.delete()

        session.refresh_from_db()
        assert session.cs is None
        assert session.chats.get().message == "hi"

    def test_ids_are_25_character_cuids(self):
        ids = {Client.objects.create(telegram_id=str(n), name="x").id for n in range(50)}
        assert len(ids) == 50
        assert all(len(i) == 25 and i.startswith("c") and i.isalnum() for i in ids)
