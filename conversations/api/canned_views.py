"""Canned responses over REST, through the same services and reads as the console.

An agent sees the shared responses and its own; another agent's personal response is
a 404 exactly like a missing one (to an ADMIN too: it is that agent's own). Shared ones
are read by everyone and written by an ADMIN only (403 for a CS). With `?session=` the
session must be one the caller may see (else 404), and each item carries `rendered`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.canned_serializers import (
    CannedQuerySerializer,
    CannedResponseSerializer,
    CannedResponseWriteSerializer,
    RenderedCannedResponseSerializer,
)
from conversations.api.profile_serializers import ErrorSerializer
from conversations.api.views import session_or_404
from conversations.models import CannedResponse
from conversations.services.canned import (
    canned_create,
    canned_delete,
    canned_get_for_agent,
    canned_render,
    canned_search,
    canned_update,
)

CANNED_ID = OpenApiParameter("canned_id", OpenApiTypes.STR, OpenApiParameter.PATH)
SESSION = OpenApiParameter(
    "session",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="A session the caller may see: each item then carries `rendered`.",
)
QUERY = OpenApiParameter(
    "q",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="Shortcut prefix, then title, then text matches, in that order.",
)
FORBIDDEN = {
    403: OpenApiResponse(ErrorSerializer, description="Only an ADMIN changes shared responses.")
}


def canned_or_404(request: Request, canned_id: str) -> CannedResponse:
    try:
        return canned_get_for_agent(agent=request.user, canned_id=canned_id)
    except CannedResponse.DoesNotExist:
        raise exceptions.NotFound(_("No such canned response.")) from None


def check_may_write(request: Request, *, shared: bool) -> None:
    if shared and not request.user.is_admin:
        raise exceptions.PermissionDenied(_("Only an admin may change shared canned responses."))


@contextmanager
def field_errors() -> Iterator[None]:
    """The service's refusals by field become the API's 400 with `errors` by field."""
    try:
        yield
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            raise exceptions.ValidationError(error.message_dict) from None
        raise


def _shape(request: Request, query: dict) -> tuple[type[CannedResponseSerializer], dict]:
    """The serializer and its context: rendered for `session` when asked."""
    session_id = query.get("session")
    if not session_id:
        return CannedResponseSerializer, {}
    session = session_or_404(request, session_id)
    render: Callable[[CannedResponse], str] = lambda canned: canned_render(  # noqa: E731
        canned=canned, session=session, agent=request.user
    )
    return RenderedCannedResponseSerializer, {"render": render}


def _query(request: Request) -> dict:
    data = CannedQuerySerializer(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data


class CannedListApi(APIView):
    @extend_schema(
        parameters=[QUERY, SESSION],
        responses={
            200: RenderedCannedResponseSerializer(many=True),
            404: OpenApiResponse(ErrorSerializer, description="No such session (`?session=`)."),
        },
        summary="The shared canned responses and the caller's own",
        description="`rendered` is present only with `?session=`.",
        tags=["canned responses"],
    )
    def get(self, request: Request) -> Response:
        query = _query(request)
        serializer, context = _shape(request, query)
        canned = canned_search(agent=request.user, query=query.get("q", ""))
        return Response(serializer(canned, many=True, context=context).data)

    @extend_schema(
        request=CannedResponseWriteSerializer,
        responses={201: CannedResponseSerializer, **FORBIDDEN},
        summary="Create a personal canned response, or a shared one (ADMIN)",
        tags=["canned responses"],
    )
    def post(self, request: Request) -> Response:
        data = CannedResponseWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        personal = fields.pop("personal")
        check_may_write(request, shared=not personal)
        with field_errors():
            canned = canned_create(owner=request.user if personal else None, **fields)
        return Response(CannedResponseSerializer(canned).data, status=status.HTTP_201_CREATED)


class CannedDetailApi(APIView):
    @extend_schema(
        parameters=[CANNED_ID, SESSION],
        responses={200: RenderedCannedResponseSerializer},
        summary="A canned response",
        description="`rendered` is present only with `?session=`.",
        tags=["canned responses"],
    )
    def get(self, request: Request, canned_id: str) -> Response:
        canned = canned_or_404(request, canned_id)
        serializer, context = _shape(request, _query(request))
        return Response(serializer(canned, context=context).data)

    def _update(self, request: Request, canned_id: str, *, partial: bool) -> Response:
        canned = canned_or_404(request, canned_id)
        check_may_write(request, shared=canned.owner_id is None)
        data = CannedResponseWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        personal = fields.pop("personal", None)
        if "personal" in request.data and personal != (canned.owner_id is not None):
            raise exceptions.ValidationError(
                {"personal": [_("A canned response cannot change between shared and personal.")]}
            )
        with field_errors():
            canned = canned_update(canned=canned, **fields)
        return Response(CannedResponseSerializer(canned).data)

    @extend_schema(
        parameters=[CANNED_ID],
        request=CannedResponseWriteSerializer,
        responses={200: CannedResponseSerializer, **FORBIDDEN},
        summary="Replace a canned response (a shared one: ADMIN)",
        tags=["canned responses"],
    )
    def put(self, request: Request, canned_id: str) -> Response:
        return self._update(request, canned_id, partial=False)

    @extend_schema(
        parameters=[CANNED_ID],
        request=CannedResponseWriteSerializer(partial=True),
        responses={200: CannedResponseSerializer, **FORBIDDEN},
        summary="Change a canned response (a shared one: ADMIN)",
        tags=["canned responses"],
    )
    def patch(self, request: Request, canned_id: str) -> Response:
        return self._update(request, canned_id, partial=True)

    @extend_schema(
        parameters=[CANNED_ID],
        responses={204: None, **FORBIDDEN},
        summary="Delete a canned response (a shared one: ADMIN)",
        tags=["canned responses"],
    )
    def delete(self, request: Request, canned_id: str) -> Response:
        canned = canned_or_404(request, canned_id)
        check_may_write(request, shared=canned.owner_id is None)
        canned_delete(canned=canned)
        return Response(status=status.HTTP_204_NO_CONTENT)
