"""/api/search/: the workspace's search box over REST (conversations.search)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.search import MAX_QUERY_CHARS, search_for_agent, search_query_clean


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_CHARS,
        help_text=(
            "Client name, @username or Telegram id, or words of a message (every term "
            "must appear). At least 2 characters, or one emoji."
        ),
    )


class SearchResultSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    chat_id = serializers.CharField(
        allow_null=True, help_text="The matching message; null for a match on the client."
    )
    snippet = serializers.CharField(
        help_text="The match in context, HTML-escaped, each match in <mark>…</mark>."
    )


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)


class SearchApi(APIView):
    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses={200: SearchResponseSerializer},
        summary="Search clients and message text in the sessions the caller may see",
        description="A CS searches its own sessions, ended ones too; an ADMIN all. "
        "Clients first (newest activity), then messages, newest first; at most 50.",
        tags=["search"],
    )
    def get(self, request: Request) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        q = search_query_clean(params.validated_data["q"])
        if not q:
            raise exceptions.ValidationError(
                {"q": [_("Type at least 2 characters to search.")]}, code="too_short"
            )
        results = search_for_agent(user=request.user, q=q)
        return Response(SearchResponseSerializer({"results": results}).data)
