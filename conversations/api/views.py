"""The agent's account and sessions over REST, through the console's selectors and services.

Every session view goes through `session_get_for_agent`: another CS's session is a 404
exactly like a missing one; an ADMIN sees all. Services' refusals (a ValidationError)
become 400, or 413 for a file over UPLOAD_MAX_BYTES, in helpdesk.api_errors.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeSerializer, MeUpdateSerializer
from accounts.models import User
from conversations import services
from conversations.api.selectors import session_list_for_api
from conversations.api.serializers import (
    ChatSendMultipartSerializer,
    ChatSendSerializer,
    ChatSerializer,
    MarkReadResultSerializer,
    SessionFilterSerializer,
    SessionListSerializer,
    SessionSerializer,
    TransferSerializer,
)
from conversations.models import Chat, Session
from conversations.selectors import SESSIONS_PER_PAGE, session_get_for_agent
from helpdesk.api_parsers import SafeJSONParser

SESSION_ID = OpenApiParameter("session_id", OpenApiTypes.STR, OpenApiParameter.PATH)


def session_or_404(request: Request, session_id: str) -> Session:
    try:
        return session_get_for_agent(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise exceptions.NotFound(_("No such session.")) from None


class MeApi(APIView):
    @extend_schema(responses={200: MeSerializer}, summary="The signed-in user", tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=MeUpdateSerializer,
        responses={200: MeSerializer},
        summary="Go online (takes waiting sessions) or offline",
        tags=["me"],
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.agent_presence_set(agent=request.user, online=data.validated_data["status_online"])
        return Response(MeSerializer(request.user).data)


class SessionPagination(PageNumberPagination):
    page_size = SESSIONS_PER_PAGE
    page_size_query_param = "page_size"
    max_page_size = 100


class SessionListApi(generics.ListAPIView):
    serializer_class = SessionListSerializer
    pagination_class = SessionPagination

    def get_queryset(self):
        filters = SessionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return session_list_for_api(
            user=self.request.user, status=filters.validated_data.get("status")
        )

    @extend_schema(
        parameters=[SessionFilterSerializer],
        summary="Own sessions (a CS) or all (an ADMIN), most recent activity first",
        tags=["sessions"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class SessionDetailApi(APIView):
    @extend_schema(parameters=[SESSION_ID], responses={200: SessionSerializer}, tags=["sessions"])
    def get(self, request: Request, session_id: str) -> Response:
        return Response(SessionSerializer(session_or_404(request, session_id)).data)


class ChatPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100
    # (created_at, id): a total order, newest first.
    ordering = ("-created_at", "-id")


class ChatListApi(generics.ListAPIView):
    serializer_class = ChatSerializer
    pagination_class = ChatPagination
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        session = session_or_404(self.request, self.kwargs["session_id"])
        return Chat.objects.filter(session=session)

    @extend_schema(
        parameters=[SESSION_ID],
        summary="The session's messages, newest first (cursor-paginated)",
        tags=["sessions"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        parameters=[SESSION_ID],
        request={
            "application/json": ChatSendSerializer,
            "multipart/form-data": ChatSendMultipartSerializer,
        },
        responses={201: ChatSerializer},
        summary="Send a text and/or a file; delivered to Telegram by the delivery worker",
        tags=["sessions"],
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = session_or_404(request, session_id)
        data = ChatSendMultipartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chat = services.chat_send(
            session=session,
            agent=request.user,
            text=data.validated_data.get("message", ""),
            upload=data.validated_data.get("file"),
            reply_to_chat_id=data.validated_data.get("reply_to") or None,
        )
        return Response(ChatSerializer(chat).data, status=status.HTTP_201_CREATED)


class SessionReadApi(APIView):
    @extend_schema(
        parameters=[SESSION_ID],
        request=None,
        responses={200: MarkReadResultSerializer},
        summary="Mark the client's messages read",
        tags=["sessions"],
    )
    def post(self, request: Request, session_id: str) -> Response:
        marked = services.chat_mark_read(session=session_or_404(request, session_id))
        return Response({"marked": marked})


class SessionEndApi(APIView):
    @extend_schema(
        parameters=[SESSION_ID],
        request=None,
        responses={200: SessionSerializer},
        summary="End the session (ending an ended one changes nothing)",
        tags=["sessions"],
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = services.session_end(session=session_or_404(request, session_id))
        return Response(SessionSerializer(session).data)


class SessionTransferApi(APIView):
    @extend_schema(
        parameters=[SESSION_ID],
        request=TransferSerializer,
        responses={200: SessionSerializer},
        summary="Hand the session to another online CS",
        tags=["sessions"],
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = session_or_404(request, session_id)
        data = TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = User.objects.filter(pk=data.validated_data["cs_id"]).first()
        if agent is None:
            raise exceptions.ValidationError({"cs_id": [_("No such agent.")]})
        session = services.session_transfer(session=session, to_agent=agent)
        return Response(SessionSerializer(session).data)
