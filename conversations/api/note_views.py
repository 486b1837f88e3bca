"""/api/sessions/<id>/notes/: a session's private notes over REST.

Listing: whoever may read the session (its CS, any ADMIN, a CS mentioned in one of its
notes). Writing: whoever may act on it (its CS, any ADMIN); a mentioned CS reads only
(403), another CS gets the 404 of a missing session.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.views import SESSION_ID
from conversations.limits import REPLY_MAX_CHARS
from conversations.models import Note, Session
from conversations.note_selectors import notes_for_session, session_get_for_reader
from conversations.services.notes import note_add


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField(
        help_text="The author's id and name (null: deleted)."
    )

    class Meta:
        model = Note
        fields = ["id", "text", "author", "created_at"]
        read_only_fields = fields

    def get_author(self, note: Note) -> dict | None:
        if note.author is None:
            return None
        return {"id": note.author.pk, "name": note.author.name}


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=REPLY_MAX_CHARS,
        help_text="The note; `@name` (an agent's name without spaces, or its email's "
        "local part, any case) mentions that agent. Never sent to the client.",
    )


def _readable(request: Request, session_id: str) -> tuple[Session, bool]:
    try:
        return session_get_for_reader(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise exceptions.NotFound(_("No such session.")) from None


class NoteListApi(APIView):
    @extend_schema(
        parameters=[SESSION_ID],
        responses={200: NoteSerializer(many=True)},
        summary="The session's private notes, oldest first",
        tags=["notes"],
    )
    def get(self, request: Request, session_id: str) -> Response:
        session, _read_only = _readable(request, session_id)
        notes = notes_for_session(session=session).order_by("created_at", "id")
        return Response(NoteSerializer(notes, many=True).data)

    @extend_schema(
        parameters=[SESSION_ID],
        request=NoteCreateSerializer,
        responses={201: NoteSerializer},
        summary="Write a private note (agents only; never sent to Telegram)",
        tags=["notes"],
    )
    def post(self, request: Request, session_id: str) -> Response:
        session, read_only = _readable(request, session_id)
        if read_only:
            raise exceptions.PermissionDenied(_("You may read this session, not write in it."))
        data = NoteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = note_add(session=session, author=request.user, text=data.validated_data["text"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
