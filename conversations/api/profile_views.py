"""Labels and the client's profile over REST, through the console's selectors and services.

Labels: any agent reads them; an ADMIN creates, renames, recolours and deletes them.
A client: an ADMIN sees any; a CS the clients whose sessions it holds or held
(`client_get_for_agent`); another agent's client is a 404 exactly like a missing one.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.profile_serializers import (
    ClientProfileSerializer,
    ClientProfileUpdateSerializer,
    ErrorSerializer,
    LabelSerializer,
)
from conversations.models import Client, Label
from conversations.selectors import client_get_for_agent, label_list
from conversations.services.blocking import client_block, client_unblock
from conversations.services.profile import (
    client_profile_update,
    label_create,
    label_delete,
    label_update,
    labels_from_ids,
)

LABEL_ID = OpenApiParameter("label_id", OpenApiTypes.STR, OpenApiParameter.PATH)
CLIENT_ID = OpenApiParameter("client_id", OpenApiTypes.STR, OpenApiParameter.PATH)
FORBIDDEN = {403: OpenApiResponse(ErrorSerializer, description="Only an ADMIN may change labels.")}


class AdminWritesLabels(permissions.BasePermission):
    """Anyone signed in reads labels; only an ADMIN changes them."""

    message = _("Only an admin may change labels.")

    def has_permission(self, request: Request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.is_admin


def label_or_404(label_id: str) -> Label:
    label = Label.objects.filter(pk=label_id).first()
    if label is None:
        raise exceptions.NotFound(_("No such label."))
    return label


def client_or_404(request: Request, client_id: str) -> Client:
    try:
        return client_get_for_agent(user=request.user, client_id=client_id)
    except Client.DoesNotExist:
        raise exceptions.NotFound(_("No such client.")) from None


class LabelListApi(APIView):
    permission_classes = [permissions.IsAuthenticated, AdminWritesLabels]

    @extend_schema(
        responses={200: LabelSerializer(many=True)}, summary="Every label", tags=["labels"]
    )
    def get(self, request: Request) -> Response:
        return Response(LabelSerializer(label_list(), many=True).data)

    @extend_schema(
        request=LabelSerializer,
        responses={201: LabelSerializer, **FORBIDDEN},
        summary="Create a label (ADMIN)",
        tags=["labels"],
    )
    def post(self, request: Request) -> Response:
        data = LabelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = label_create(**data.validated_data)
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated, AdminWritesLabels]

    @extend_schema(parameters=[LABEL_ID], responses={200: LabelSerializer}, tags=["labels"])
    def get(self, request: Request, label_id: str) -> Response:
        return Response(LabelSerializer(label_or_404(label_id)).data)

    @extend_schema(
        parameters=[LABEL_ID],
        request=LabelSerializer(partial=True),
        responses={200: LabelSerializer, **FORBIDDEN},
        summary="Rename or recolour a label (ADMIN)",
        tags=["labels"],
    )
    def patch(self, request: Request, label_id: str) -> Response:
        label = label_or_404(label_id)
        data = LabelSerializer(label, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        label = label_update(label=label, **data.validated_data)
        return Response(LabelSerializer(label).data)

    @extend_schema(
        parameters=[LABEL_ID],
        responses={204: None, **FORBIDDEN},
        summary="Delete a label, taking it off every client (ADMIN)",
        tags=["labels"],
    )
    def delete(self, request: Request, label_id: str) -> Response:
        label_delete(label=label_or_404(label_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientProfileApi(APIView):
    @extend_schema(
        parameters=[CLIENT_ID],
        responses={200: ClientProfileSerializer},
        summary="A client: its profile, labels and block state",
        tags=["clients"],
    )
    def get(self, request: Request, client_id: str) -> Response:
        return Response(ClientProfileSerializer(client_or_404(request, client_id)).data)

    @extend_schema(
        parameters=[CLIENT_ID],
        request=ClientProfileUpdateSerializer,
        responses={200: ClientProfileSerializer},
        summary="Change a client's labels or note; block or unblock it",
        tags=["clients"],
    )
    def patch(self, request: Request, client_id: str) -> Response:
        client = client_or_404(request, client_id)
        data = ClientProfileUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        with transaction.atomic():
            labels = labels_from_ids(ids=changes["labels"]) if "labels" in changes else None
            if labels is not None or "profile_note" in changes:
                client_profile_update(
                    client=client,
                    by=request.user,
                    labels=labels,
                    profile_note=changes.get("profile_note"),
                )
            if changes.get("blocked") is True:
                client_block(
                    client=client,
                    by=request.user,
                    reason=changes.get("block_reason", ""),
                    until=changes.get("blocked_until"),
                )
            elif changes.get("blocked") is False and client.blocked:
                client_unblock(client=client, by=request.user)
        return Response(ClientProfileSerializer(client_or_404(request, client_id)).data)
