"""A chat file's address: the app's own route, quoted, and within the spec's 191 characters."""

from urllib.parse import unquote

from django.test import SimpleTestCase, override_settings
from django.urls import include, path, resolve

from conversations.models import Chat
from conversations.services import chat_file_url

LIMIT = Chat._meta.get_field("file_url").max_length

# The same site mounted under /desk/, as a deployment behind a path prefix would.
urlpatterns = [path("desk/", include("helpdesk.urls"))]


class ChatFileUrlTests(SimpleTestCase):
    def test_the_name_is_fully_quoted(self):
        url = chat_file_url(chat_id="c1", file_name="invoice (march) 100%.pdf")

        assert url == "/files/c1/invoice%20%28march%29%20100%25.pdf"
        assert resolve(url).url_name == "chat_file"

    def test_a_missing_name_becomes_file(self):
        assert chat_file_url(chat_id="c1", file_name="") == "/files/c1/file"

    def test_a_long_name_is_cut_by_whole_characters_to_fit_the_column(self):
        for name in ("a" * 400, "📦" * 100, "a" + "é" * 200, "x" * 170 + "%" * 30):
            url = chat_file_url(chat_id="cm0abcdefghijklmnopqrstu", file_name=name)

            assert LIMIT - 12 < len(url) <= LIMIT
            kept = unquote(url.removeprefix("/files/cm0abcdefghijklmnopqrstu/"), errors="strict")
            assert name.startswith(kept)
            assert resolve(url).kwargs["chat_id"] == "cm0abcdefghijklmnopqrstu"

    @override_settings(ROOT_URLCONF=__name__)
    def test_the_address_follows_the_url_configuration(self):
        url = chat_file_url(chat_id="c1", file_name="a.pdf")

        assert url == "/desk/files/c1/a.pdf"
        assert resolve(url).url_name == "chat_file"
