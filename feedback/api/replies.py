"""Response templates and replies in the API.

``/api/v1/feedback/templates/``: every member reads their teams' templates and the shared ones
(``team`` null); leads create, change and delete their team's, superusers the shared ones; an
unknown placeholder answers 400 naming it.

``/api/v1/feedback/replies/``: the replies the portal sent or is sending (outbound messages
with a delivery state), team-scoped. ``POST`` with ``item`` and ``text`` (or a ``template``,
personalised for the item, when ``text`` is empty) queues a reply and answers **202** with
it (``delivery: queued``; poll the reply for ``sent`` or ``failed``). With ``note: true`` it
adds an internal note instead, which is never sent, and answers 201: one endpoint for
everything an agent writes on an item. ``POST replies/{id}/retry/`` queues a failed reply
again (202).
"""

from django.db.models import Q
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from feedback import selectors
from feedback.models import DeliveryStatus, Message, ResponseTemplate
from feedback.services.items import MAX_TEXT_LENGTH
from feedback.services.replies import note_add, reply_render, reply_retry, reply_send
from feedback.services.templates import (
    require_template_manager,
    template_create,
    template_delete,
    template_update,
)
from portal import selectors as portal_selectors
from portal.api.base import PortalViewSet
from portal.api.filters import IdFilter, StrictBooleanFilter
from portal.api.serializers import AsciiIntegerField

NO_SUCH_TEAM = "No such team."
NO_SUCH_ITEM = "No such feedback item."
NO_SUCH_TEMPLATE = "No such response template, or not one of the item's team."
TEXT_OR_TEMPLATE = "Give the text of the reply, or a template to start from."
ONE_OBJECT = {"filter_backends": [], "pagination_class": None}


# Serializers ---------------------------------------------------------------------------------


class ResponseTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResponseTemplate
        fields = ["id", "team", "name", "subject", "body", "created_by", "created_at", "updated_at"]
        read_only_fields = fields
        extra_kwargs = {
            "team": {"help_text": "Team id; null for a template shared by every team."},
            "body": {"help_text": "Text with placeholders such as {{ customer.first_name }}."},
        }


class ResponseTemplateWriteSerializer(serializers.Serializer):
    team = AsciiIntegerField(
        required=False, allow_null=True, help_text="Team id; null (superusers) for a shared one."
    )
    name = serializers.CharField(max_length=120)
    subject = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    body = serializers.CharField(max_length=20000)


class ReplySerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "team",
            "item",
            "external_id",
            "is_note",
            "author",
            "sender",
            "reply_to",
            "to",
            "subject",
            "text",
            "in_reply_to",
            "references",
            "delivery",
            "delivery_error",
            "delivery_attempts",
            "delivered_at",
            "sent_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "external_id": {"help_text": "Our Message-ID, without angle brackets."},
            "reply_to": {"help_text": "The item's signed address the customer's answer goes to."},
            "delivery": {"help_text": "queued, sending, sent or failed; empty for a note."},
        }


class ReplyCreateSerializer(serializers.Serializer):
    item = AsciiIntegerField(help_text="The feedback item answered.")
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT_LENGTH, trim_whitespace=False
    )
    template = AsciiIntegerField(
        required=False,
        allow_null=True,
        help_text="A template of the item's team (or a shared one), personalised for the item "
        "when text is empty.",
    )
    to = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=254,
        help_text="Address to send to; by default the Reply-To of the customer's latest mail.",
    )
    note = serializers.BooleanField(
        required=False, default=False, help_text="An internal note: never sent (201)."
    )


# Templates -----------------------------------------------------------------------------------


class ResponseTemplateFilter(filters.FilterSet):
    team = IdFilter(
        method="team_or_shared", help_text="Team id: its templates and the shared ones."
    )
    shared = StrictBooleanFilter(
        field_name="team", lookup_expr="isnull", help_text="Only shared (true) or team (false)."
    )

    class Meta:
        model = ResponseTemplate
        fields = ["team", "shared"]

    def team_or_shared(self, queryset, name, value):
        # A team's list offers the shared templates too, as the composer does.
        return queryset.filter(Q(team=value) | Q(team__isnull=True))


@extend_schema_view(
    create=extend_schema(
        request=ResponseTemplateWriteSerializer, responses={201: ResponseTemplateSerializer}
    ),
    partial_update=extend_schema(
        request=ResponseTemplateWriteSerializer, responses={200: ResponseTemplateSerializer}
    ),
)
class ResponseTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Response templates of the user's teams and the shared ones."""

    serializer_class = ResponseTemplateSerializer
    filterset_class = ResponseTemplateFilter
    search_fields = ["name", "body"]
    ordering_fields = ["name", "created_at", "updated_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.response_template_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = ResponseTemplateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team = None
        if values.get("team") is not None:
            try:
                team = portal_selectors.team_get(user=request.user, pk=values["team"])
            except Http404:
                raise serializers.ValidationError({"team": [NO_SUCH_TEAM]}) from None
        template = template_create(
            actor=request.user,
            team=team,
            name=values["name"],
            subject=values.get("subject", ""),
            body=values["body"],
        )
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        template = self.get_object()
        require_template_manager(request.user, template.team)
        data = ResponseTemplateWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k in ("name", "subject", "body")}
        template = template_update(actor=request.user, template=template, **values)
        return Response(self.get_serializer(template).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        template = self.get_object()
        template_delete(actor=request.user, template=template)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Replies -------------------------------------------------------------------------------------


class ReplyFilter(filters.FilterSet):
    team = IdFilter(field_name="team", help_text="Team id.")
    item = IdFilter(field_name="item", help_text="Feedback item id.")
    delivery = filters.MultipleChoiceFilter(
        choices=[c for c in DeliveryStatus.choices if c[0]], help_text="Repeat for several."
    )

    class Meta:
        model = Message
        fields = ["team", "item", "delivery"]


@extend_schema_view(
    create=extend_schema(
        request=ReplyCreateSerializer,
        responses={202: ReplySerializer, 201: ReplySerializer},
        description="Queue a reply (202, `delivery: queued`) or, with `note: true`, add an "
        "internal note (201). Agents of the item's team. A channel that takes no replies "
        "(feeds) and an item without an address answer 400 saying so.",
    ),
    retry=extend_schema(
        request=None,
        responses={202: ReplySerializer},
        description="Send a failed reply again, with the same Message-ID (agents).",
    ),
)
class ReplyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Replies sent from the portal, oldest first; their delivery state is on each."""

    serializer_class = ReplySerializer
    filterset_class = ReplyFilter
    search_fields = ["subject", "text"]
    ordering_fields = ["sent_at", "id"]

    def get_queryset(self):
        return selectors.reply_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = ReplyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            item = selectors.item_get(user=request.user, pk=values["item"])
        except Http404:
            raise serializers.ValidationError({"item": [NO_SUCH_ITEM]}) from None
        text = values.get("text", "")
        if not text.strip() and values.get("template") is not None:
            template = (
                selectors.response_template_list(user=request.user, team=item.team)
                .filter(pk=values["template"])
                .first()
            )
            if template is None:
                raise serializers.ValidationError({"template": [NO_SUCH_TEMPLATE]})
            text = reply_render(item=item, agent=request.user, body=template.body)
        if values["note"]:
            message = note_add(actor=request.user, item=item, text=text)
            return Response(self.get_serializer(message).data, status=status.HTTP_201_CREATED)
        if not text.strip():
            # The service would refuse it too; said here in the API's own words.
            raise serializers.ValidationError({"text": [TEXT_OR_TEMPLATE]})
        message = reply_send(actor=request.user, item=item, text=text, to=values.get("to") or None)
        return Response(self.get_serializer(message).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], **ONE_OBJECT)
    def retry(self, request: Request, pk: str | None = None) -> Response:
        message = reply_retry(actor=request.user, message=self.get_object())
        return Response(self.get_serializer(message).data, status=status.HTTP_202_ACCEPTED)
