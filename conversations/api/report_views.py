"""/api/reports/summary/ and /api/csat/: the reports page's figures and the ratings, as JSON.

The same selectors as the page (conversations.reports): a CS gets only its own figures
and ratings whatever `agent` says; an ADMIN all, or one agent's. A bad range or an
unknown agent is a 400 naming the field.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.models import CsatRating
from conversations.reports import (
    ReportRange,
    ReportRangeError,
    csat_list,
    report_agent_check,
    report_range_parse,
    report_summary,
)

SECONDS = "Seconds (0.1 s), null when there is no value."


class ReportQuerySerializer(serializers.Serializer):
    # Plain strings: report_range_parse is the one judge of a date, for page and API.
    # (`from` is a Python keyword, hence the field built below.)
    to = serializers.CharField(
        required=False, allow_blank=True, help_text="Last day, YYYY-MM-DD, inclusive."
    )
    agent = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="An agent's user id (ADMIN only; a CS always gets its own figures).",
    )

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="First day, YYYY-MM-DD, in the desk's time zone. Default: 30 days "
            "ending `to` (or today).",
        )
        return fields


def report_query(request: Request) -> tuple[ReportRange, str | None]:
    """The range and agent asked for; a 400 naming the field when refused."""
    query = ReportQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    try:
        report_range = report_range_parse(data.get("from"), data.get("to"))
        agent_id = report_agent_check(user=request.user, agent_id=data.get("agent"))
    except ReportRangeError as error:
        raise exceptions.ValidationError({error.field: [error.message]}) from None
    return report_range, agent_id


class PerAgentSerializer(serializers.Serializer):
    agent_id = serializers.CharField()
    name = serializers.CharField()
    sessions = serializers.IntegerField(help_text="Sessions started in range held by the agent.")
    first_response_median_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    resolution_median_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    csat_average = serializers.FloatField(allow_null=True)


class DailySerializer(serializers.Serializer):
    date = serializers.DateField()
    sessions_started = serializers.IntegerField()
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    first_response_median_seconds = serializers.FloatField(
        allow_null=True, help_text="Over the assignments made that day. " + SECONDS
    )
    resolution_median_seconds = serializers.FloatField(
        allow_null=True, help_text="Over the sessions ended that day. " + SECONDS
    )


class ReportSummarySerializer(serializers.Serializer):
    """Documents the shape; the selector's dict is answered as it is."""

    to = serializers.DateField()
    time_zone = serializers.CharField(help_text="The zone days and hours are counted in.")
    agent_id = serializers.CharField(allow_null=True, help_text="The agent filter applied.")
    sessions_started = serializers.IntegerField()
    sessions_ended = serializers.IntegerField()
    sessions_active = serializers.IntegerField(help_text="Of those started, ACTIVE now.")
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    queue_wait_median_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    first_response_median_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    first_response_p90_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    resolution_median_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    resolution_p90_seconds = serializers.FloatField(allow_null=True, help_text=SECONDS)
    csat_average = serializers.FloatField(allow_null=True)
    csat_positive_share = serializers.FloatField(allow_null=True, help_text="Share rated 4-5.")
    csat_ratings = serializers.IntegerField()
    csat_surveys_sent = serializers.IntegerField()
    csat_response_rate = serializers.FloatField(
        allow_null=True, help_text="Ratings ÷ surveys sent; null when none was sent."
    )
    per_agent = PerAgentSerializer(many=True)
    heatmap = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=24, max_length=24),
        min_length=7,
        max_length=7,
        help_text="Sessions started: 7 rows (Monday first) of 24 hours, local time.",
    )
    daily = DailySerializer(many=True)

    def get_fields(self) -> dict:
        return {"from": serializers.DateField(), **super().get_fields()}


class ReportSummaryApi(APIView):
    @extend_schema(
        parameters=[ReportQuerySerializer],
        responses={200: ReportSummarySerializer},
        summary="Figures of a date range: volume, response and resolution times, CSAT",
        description="Days are inclusive, in the desk's time zone (TIME_ZONE); at most 366. "
        "A CS gets only its own figures (`agent` is ignored); an ADMIN all, or one agent's. "
        "Each measure is defined in the README, section Reports.",
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        report_range, agent_id = report_query(request)
        return Response(
            report_summary(user=request.user, report_range=report_range, agent_id=agent_id)
        )


class CsatSerializer(serializers.ModelSerializer):
    session_id = serializers.CharField()
    agent_id = serializers.CharField(allow_null=True, help_text="The agent the session ended with.")
    rating = serializers.IntegerField(min_value=1, max_value=5)

    class Meta:
        model = CsatRating
        fields = ["session_id", "agent_id", "rating", "comment", "created_at"]


class CsatPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CsatListApi(generics.ListAPIView):
    serializer_class = CsatSerializer
    pagination_class = CsatPagination

    def get_queryset(self):
        report_range, agent_id = report_query(self.request)
        return csat_list(user=self.request.user, report_range=report_range, agent_id=agent_id)

    @extend_schema(
        parameters=[ReportQuerySerializer],
        summary="Satisfaction ratings created in a date range, newest first",
        description="A CS lists only the ratings of its own sessions; an ADMIN all, or one "
        "agent's. Same range rules as /api/reports/summary/.",
        tags=["reports"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
