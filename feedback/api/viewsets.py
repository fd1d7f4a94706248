"""The feedback app's endpoints: channels (with their connection check), feedback items (read,
and pushed one at a time or in bulk), messages with their attachments, quarantined payloads
(retry, discard, raw download) and tags.

Viewsets stay thin: ``get_queryset`` calls a team-scoped selector (another team's object is
404), writes call a service, and ``portal.api.exceptions`` turns the services' refusals into
400 and 403. Who may do what: every member of the team reads; agents push items and retry or
discard quarantined payloads; admins of the team manage channels and check them.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from feedback import selectors, services
from feedback.api import filters
from feedback.api.pagination import KeysetPagination
from feedback.api.serializers import (
    BULK_DESCRIPTION,
    DEFER_ROLE_CHECK,
    BulkItemResultSerializer,
    BulkTriageResultSerializer,
    ChannelCheckSerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    FeedbackItemBulkSerializer,
    FeedbackItemCreateSerializer,
    FeedbackItemMergeSerializer,
    FeedbackItemSerializer,
    FeedbackItemUpdateSerializer,
    FeedbackMessageSerializer,
    FeedbackTagMergeSerializer,
    FeedbackTagSerializer,
    FeedbackTagUpdateSerializer,
    FeedbackTagWriteSerializer,
    QuarantinedPayloadSerializer,
)
from feedback.imports import FEEDBACK_IMPORT_KIND
from feedback.inbox.ordering import ORDERINGS
from feedback.models import FeedbackItem, LikelyDuplicate, Quarantine
from feedback.services.duplicates import likely_duplicate_dismiss
from feedback.services.merging import item_merge
from feedback.services.triage import MERGE_TARGET_NOT_SELECTED, BulkResult
from feedback.views.downloads import storage_download
from portal import access
from portal.api.base import ImportMixin, PortalViewSet
from portal.api.parsers import JSONParser
from portal.api.permissions import TeamRoleChanges
from portal.models import Role
from portal.validation import is_id, validation_messages

MAX_BULK_ITEMS = 200
BULK_TOO_LARGE = f"Send at most {MAX_BULK_ITEMS} items at once."
BULK_NOT_OBJECTS = "Send one item as an object, or several as a list of objects."
ITEM_MERGED = "Item {merged} was merged into item {into}: its messages are there."
# Where a bulk push that is refused whole lists each row's errors ({} for a row without).
BULK_ROWS = "rows"
RAW_CONTENT_TYPE = "application/octet-stream"
NO_SUCH_DUPLICATE = "These two items are no likely duplicate of each other."
NO_SUCH_ITEM = selectors.NO_SUCH_ITEM
BULK_NEEDS_AGENT = "Triage needs the agent role in a team."

# Actions on one object take no filters and no pages.
ONE_OBJECT = {"filter_backends": [], "pagination_class": None}


def _errors(error: DjangoValidationError) -> dict[str, Any]:
    """A service's refusal in the shape the API gives it everywhere (``portal.api.exceptions``)."""
    if hasattr(error, "error_dict"):
        return {
            field: validation_messages(DjangoValidationError(errors))
            for field, errors in error.error_dict.items()
        }
    return {"detail": " ".join(validation_messages(error))}


# Channels ------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        description="A new channel of a team (its admins); a polled channel is due at once."
    ),
    partial_update=extend_schema(
        description="Change the name, settings, poll interval or `enabled`. `config` is merged "
        "into the stored settings: keys left out keep their values, secrets left out or empty "
        "are kept."
    ),
)
class ChannelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    PortalViewSet,
):
    """Where a team's feedback comes from, with each channel's health. Members read the
    settings without their secrets; the team's admins create, change and check channels."""

    serializer_class = ChannelSerializer
    permission_classes = [IsAuthenticated, TeamRoleChanges]
    # A config is a nested object, which only JSON can carry.
    parser_classes = [JSONParser]
    team_roles = {"update": Role.ADMIN, "partial_update": Role.ADMIN, "check": Role.ADMIN}
    filterset_class = filters.ChannelFilter
    search_fields = ["name", "address"]
    ordering_fields = ["name", "kind", "poll_interval", "error_streak", "created_at"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return ChannelUpdateSerializer
        return ChannelSerializer

    def get_queryset(self):
        return selectors.channel_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        channel = services.channel_create(
            actor=self.request.user,
            team=data["team"],
            kind=data["kind"],
            name=data["name"],
            config=data["config"],
            poll_interval=data.get("poll_interval", services.DEFAULT_POLL_INTERVAL),
            enabled=data.get("enabled", True),
        )
        serializer.instance = selectors.channel_get(user=self.request.user, pk=channel.pk)

    def perform_update(self, serializer) -> None:
        fields = {
            name: value
            for name, value in serializer.validated_data.items()
            if name in ("name", "config", "poll_interval", "enabled")
        }
        channel = services.channel_update(
            actor=self.request.user, channel=serializer.instance, **fields
        )
        serializer.instance = selectors.channel_get(user=self.request.user, pk=channel.pk)

    @extend_schema(
        request=None,
        responses={200: ChannelCheckSerializer},
        description="Try the channel's stored settings now: `ok` says whether the connection "
        'works, `message` what was found or what failed ("authentication failed", "folder '
        'INBOX.Support does not exist"). Changes nothing.',
    )
    @action(detail=True, methods=["post"], **ONE_OBJECT)
    def check(self, request: Request, pk: str | None = None) -> Response:
        result = services.channel_check(actor=request.user, channel=self.get_object())
        return Response(ChannelCheckSerializer(result).data)


# Items ---------------------------------------------------------------------------------------


ITEM_CREATE_REQUEST = PolymorphicProxySerializer(
    component_name="FeedbackItemPush",
    serializers=[FeedbackItemCreateSerializer, FeedbackItemCreateSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)
ITEM_CREATE_RESPONSE = PolymorphicProxySerializer(
    component_name="FeedbackItemPushResult",
    serializers=[FeedbackItemSerializer, BulkItemResultSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


@extend_schema_view(
    create=extend_schema(
        request=ITEM_CREATE_REQUEST,
        responses={
            201: OpenApiResponse(FeedbackItemSerializer, description="Stored."),
            200: OpenApiResponse(
                ITEM_CREATE_RESPONSE,
                description="The item already stored under this `external_id`; for a list, "
                "one result per row.",
            ),
        },
        description=BULK_DESCRIPTION,
    )
)
class FeedbackItemViewSet(
    ImportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    PortalViewSet,
):
    """Feedback items of the user's teams, most recent conversation first, in keyset pages.
    Agents of a team push feedback into it (as the API channel of issue 8), one item, a list,
    or a CSV file (``import/``, the same importer as the upload page)."""

    import_kind = FEEDBACK_IMPORT_KIND

    serializer_class = FeedbackItemSerializer
    permission_classes = [IsAuthenticated, TeamRoleChanges]
    team_roles = {
        "merge": Role.AGENT,
        "dismiss_duplicate": Role.AGENT,
        "partial_update": Role.AGENT,
    }
    pagination_class = KeysetPagination
    # A bulk push is a JSON list, which forms cannot carry.
    parser_classes = [JSONParser]
    # The inbox's filters, search and orders (feedback.inbox), read by one backend.
    filter_backends = [filters.InboxFilterBackend]
    # Declared as on every list (the backend orders by the inbox's names, one at a time).
    ordering_fields = list(ORDERINGS)

    def get_serializer_class(self):
        if self.action == "create":
            return FeedbackItemCreateSerializer
        return FeedbackItemSerializer

    def get_queryset(self):
        return selectors.item_list(user=self.request.user)

    def get_object(self) -> FeedbackItem:
        """An item merged into another answers 404 saying where its messages went, to a
        reader of that item; anything else not found, a plain 404."""
        try:
            return super().get_object()
        except Http404:
            pk = int(self.kwargs["pk"])
            into = selectors.merged_item_target(user=self.request.user, pk=pk)
            if into is None:
                raise
            raise exceptions.NotFound(ITEM_MERGED.format(merged=pk, into=into)) from None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.data, list):
            return self._push_many(request.data)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"detail": BULK_NOT_OBJECTS})
        serializer = FeedbackItemCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        item, created = services.item_ingest(actor=request.user, **serializer.validated_data)
        return Response(
            self._shown(item), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def _push_many(self, rows: list[Any]) -> Response:
        """A malformed row (a wrong type, a missing field) refuses the whole request with 400
        and each row's errors under ``rows``, storing nothing: the request is not what the
        client meant to send. Then each well-formed row is pushed on its own, and what the
        service refuses for one row (a bad address, the role in that team) is that row's
        result, beside the others'."""
        if len(rows) > MAX_BULK_ITEMS:
            raise exceptions.ValidationError({"detail": BULK_TOO_LARGE})
        context = {**self.get_serializer_context(), DEFER_ROLE_CHECK: True}
        checked = [FeedbackItemCreateSerializer(data=row, context=context) for row in rows]
        # Every row is checked (no short cut at the first bad one), so that all are reported.
        valid = [serializer.is_valid() for serializer in checked]
        if not all(valid):
            raise exceptions.ValidationError(
                {BULK_ROWS: [serializer.errors for serializer in checked]}
            )
        return Response([self._push_row(serializer.validated_data) for serializer in checked])

    def _push_row(self, data: dict[str, Any]) -> dict[str, Any]:
        """One row of a bulk push, in its own transaction (the service's): a refused row
        changes nothing and stops no other row."""
        try:
            item, created = services.item_ingest(actor=self.request.user, **data)
        except DjangoValidationError as error:
            return {"status": 400, "item": None, "errors": _errors(error)}
        except DjangoPermissionDenied as error:
            return {"status": 403, "item": None, "errors": {"detail": str(error)}}
        return {"status": 201 if created else 200, "item": self._shown(item), "errors": None}

    def _shown(self, item) -> dict[str, Any]:
        item = selectors.item_get(user=self.request.user, pk=item.pk)
        return FeedbackItemSerializer(item, context=self.get_serializer_context()).data

    @extend_schema(
        request=FeedbackItemMergeSerializer,
        responses={200: FeedbackItemSerializer},
        description="Merge this item into `into` (an item of the same team; agents and above): "
        "every message moves to `into`, once; tags are united; `into` spans both items' times, "
        "takes the sentiment of its latest inbound message, and opens when it was resolved and "
        "this item new or open, or when it was waiting and this item is new or open and not "
        "snoozed (its snooze ends then); an unassigned `into` takes this item's assignee, and the "
        "higher priority of the two is kept. This item is deleted. The answer is the merged item.",
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[JSONParser, FormParser, MultiPartParser],
        **ONE_OBJECT,
    )
    def merge(self, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        serializer = FeedbackItemMergeSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        into = serializer.validated_data["into"]
        try:
            merged = item_merge(actor=request.user, source=source, into=into)
        except FeedbackItem.DoesNotExist:
            raise self._merged_meanwhile(source.pk, into.pk) from None
        return Response(self._shown(merged))

    def _merged_meanwhile(self, source_pk: int, into_pk: int) -> exceptions.APIException:
        """What a merge answers when another merge of the same items won the race (a double
        click, or A into B beside B into A): where the item that is gone went, as a read of it
        answers; the source gone is a 404, the target gone a 400 on ``into``."""
        user = self.request.user
        source_went = selectors.merged_item_target(user=user, pk=source_pk)
        if source_went is not None:
            return exceptions.NotFound(ITEM_MERGED.format(merged=source_pk, into=source_went))
        into_went = selectors.merged_item_target(user=user, pk=into_pk)
        if into_went is not None:
            return exceptions.ValidationError(
                {"into": [ITEM_MERGED.format(merged=into_pk, into=into_went)]}
            )
        return exceptions.NotFound(selectors.NO_SUCH_ITEM)

    @extend_schema(
        request=FeedbackItemUpdateSerializer,
        responses={200: FeedbackItemSerializer},
        description="Triage the item (agents and above of its team): any of `status`, "
        "`assignee`, `tags`, `priority`, `snoozed_until`; what is left out stays. Resolving "
        "stamps `resolved_at` (and surveys follow with a CSAT); each change is recorded in the "
        "item's history. Bad values (an unknown status, a tag of another team, an assignee "
        "outside the team, a snooze in the past) answer 400 with field errors, changing nothing.",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Not through the list's filters: a snoozed or resolved item is changed all the same.
        pk = self.kwargs["pk"]
        if not is_id(pk):
            raise exceptions.NotFound(NO_SUCH_ITEM)
        item = selectors.item_get(user=request.user, pk=int(pk))
        self.check_object_permissions(request, item)
        serializer = FeedbackItemUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.item_update(actor=request.user, item=item, **serializer.validated_data)
        return Response(self._shown(item))

    @extend_schema(
        request=FeedbackItemBulkSerializer,
        responses={200: BulkTriageResultSerializer(many=True)},
        description="Triage up to 200 items at once (`ids`): the same changes as `PATCH` for "
        "each (plus `add_tags` / `remove_tags`), or `merge` them into one of them (`into`, or "
        "the oldest). 200 with one result per id, in order; each item is changed whole or not "
        "at all, and a refusal for one stops no other. Needs the agent role in a team.",
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[JSONParser, FormParser, MultiPartParser],
        **ONE_OBJECT,
    )
    def bulk(self, request: Request) -> Response:
        if not access.has_role_anywhere(request.user, Role.AGENT):
            raise exceptions.PermissionDenied(BULK_NEEDS_AGENT)
        serializer = FeedbackItemBulkSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        ids = list(dict.fromkeys(changes.pop("ids")))
        merge, into_id = changes.pop("merge", False), changes.pop("into", None)
        found = {
            item.pk: item
            for item in selectors.item_list(user=request.user)
            .select_related("team")
            .filter(pk__in=ids)
        }
        items = [found[pk] for pk in ids if pk in found]
        results: dict[int, BulkResult] = {}
        if merge:
            if into_id is not None and into_id not in found:
                raise exceptions.ValidationError({"into": [MERGE_TARGET_NOT_SELECTED]})
            if items:
                into = found[into_id] if into_id is not None else None
                results = {
                    result.item_id: result
                    for result in services.items_bulk_merge(
                        actor=request.user, items=items, into=into
                    )
                }
        elif items:
            results = {
                result.item_id: result
                for result in services.items_bulk_update(actor=request.user, items=items, **changes)
            }
        return Response(self._bulk_answer(ids, results))

    def _bulk_answer(self, ids: list[int], results: dict[int, BulkResult]) -> list[dict]:
        """One row per id; the items changed read back in one page (two more queries for
        their channels and duplicates), not one item at a time."""
        done = {result.item.pk for result in results.values() if result.ok and result.item}
        shown = {
            row["id"]: row
            for row in FeedbackItemSerializer(
                selectors.item_list(user=self.request.user).filter(pk__in=done),
                many=True,
                context=self.get_serializer_context(),
            ).data
        }
        rows = []
        for pk in ids:
            result = results.get(pk)
            if result is None:
                rows.append(
                    {"id": pk, "status": 404, "item": None, "errors": {"detail": [NO_SUCH_ITEM]}}
                )
            elif result.ok:
                item = shown.get(result.item.pk) if result.item else None
                rows.append({"id": pk, "status": 200, "item": item, "errors": None})
            else:
                rows.append(
                    {"id": pk, "status": result.status, "item": None, "errors": result.errors}
                )
        return rows

    @extend_schema(
        request=None,
        responses={200: FeedbackItemSerializer},
        description="Dismiss the likely duplicate of this item and `other_id` as not the same "
        "request (agents and above): neither item lists the other any more, and checking them "
        "again does not bring the pair back. 404 when the two are no pair; 400 when the pair "
        "was already dismissed. The answer is this item.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"duplicates/(?P<other_id>[0-9]{1,19})/dismiss",
        url_name="dismiss-duplicate",
        **ONE_OBJECT,
    )
    def dismiss_duplicate(
        self, request: Request, pk: str | None = None, other_id: str | None = None
    ) -> Response:
        item = self.get_object()
        low, high = sorted((item.pk, int(other_id)))
        pair = LikelyDuplicate.objects.filter(item_id=low, other_id=high, team_id=item.team_id)
        pair = pair.select_related("team").first()
        if pair is None:
            raise exceptions.NotFound(NO_SUCH_DUPLICATE)
        likely_duplicate_dismiss(actor=request.user, pair=pair)
        return Response(self._shown(item))


# Messages and tags ---------------------------------------------------------------------------


class FeedbackMessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Messages of the user's teams with their attachments, oldest first as a conversation
    reads, in keyset pages. Machine mail (auto-replies, bounces, ...) is in its ``lane``."""

    serializer_class = FeedbackMessageSerializer
    pagination_class = KeysetPagination
    filterset_class = filters.FeedbackMessageFilter
    search_fields = ["subject", "sender"]
    ordering_fields = ["sent_at", "received_at", "created_at", "id"]

    def get_queryset(self):
        return selectors.message_list(user=self.request.user)


@extend_schema_view(
    create=extend_schema(
        request=FeedbackTagWriteSerializer,
        responses={201: FeedbackTagSerializer},
        description="A new tag of a team (agents and above: agents create tags as they tag). "
        "Names are unique per team regardless of case and spacing.",
    ),
    partial_update=extend_schema(
        request=FeedbackTagUpdateSerializer,
        responses={200: FeedbackTagSerializer},
        description="Rename the tag or change its colour (`#rrggbb`); leads and above. Its "
        "items keep it.",
    ),
)
class FeedbackTagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """The tags of the user's teams. Agents create tags (and tag items); leads and above
    rename, colour and merge them."""

    serializer_class = FeedbackTagSerializer
    permission_classes = [IsAuthenticated, TeamRoleChanges]
    team_roles = {"partial_update": Role.LEAD, "merge": Role.LEAD}
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    filterset_class = filters.FeedbackTagFilter
    search_fields = ["name"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return selectors.tag_list(user=self.request.user)

    def _answer(self, tag, status_code: int = status.HTTP_200_OK) -> Response:
        tag = selectors.tag_get(user=self.request.user, pk=tag.pk)
        return Response(FeedbackTagSerializer(tag).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = FeedbackTagWriteSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        tag = services.tag_create(actor=request.user, **serializer.validated_data)
        return self._answer(tag, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tag = self.get_object()
        serializer = FeedbackTagUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            if "name" in serializer.validated_data:
                services.tag_rename(
                    actor=request.user, tag=tag, name=serializer.validated_data["name"]
                )
            if "colour" in serializer.validated_data:
                services.tag_set_colour(
                    actor=request.user, tag=tag, colour=serializer.validated_data["colour"]
                )
        return self._answer(tag)

    @extend_schema(
        request=FeedbackTagMergeSerializer,
        responses={200: FeedbackTagSerializer},
        description="Merge this tag into `into` (a tag of the same team; leads and above): "
        "every item with this tag gets `into` (once), and this tag is deleted. The answer is "
        "`into`.",
    )
    @action(detail=True, methods=["post"], **ONE_OBJECT)
    def merge(self, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        serializer = FeedbackTagMergeSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        into = services.tag_merge(
            actor=request.user, source=source, into=serializer.validated_data["into"]
        )
        return self._answer(into)


# Quarantine ----------------------------------------------------------------------------------


class PayloadTeamRoleChanges(TeamRoleChanges):
    """``TeamRoleChanges`` for a quarantine row, whose team is its payload's channel's."""

    def has_object_permission(self, request, view, obj) -> bool:
        return super().has_object_permission(request, view, obj.payload.channel)


@extend_schema_view(
    list=extend_schema(description="Payloads that could not be parsed, newest first.")
)
class QuarantineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Payloads that could not be parsed, with the error. Agents retry them (after a parser
    fix, say) or discard them; the raw bytes stay either way, and members of the team download
    them as a file (as they do attachments, and as the quarantine page lets them)."""

    serializer_class = QuarantinedPayloadSerializer
    permission_classes = [IsAuthenticated, PayloadTeamRoleChanges]
    team_roles = {"retry": Role.AGENT, "discard": Role.AGENT}
    filterset_class = filters.QuarantineFilter
    search_fields = ["error"]
    ordering_fields = {
        "created_at": "created_at",
        "retry_count": "retry_count",
        "size": "payload__size",
    }

    def get_queryset(self):
        return selectors.quarantine_list(user=self.request.user, status=None)

    def _answer(self, quarantine: Quarantine) -> Response:
        quarantine = selectors.quarantine_get(user=self.request.user, pk=quarantine.pk)
        return Response(self.get_serializer(quarantine).data)

    @extend_schema(
        request=None,
        responses={200: QuarantinedPayloadSerializer},
        description="Parse the payload again: `status` becomes `resolved` (and `message` names "
        "the stored message) when it parses, else it stays `open` with the new `error`. An open "
        "payload only; 400 otherwise.",
    )
    @action(detail=True, methods=["post"], **ONE_OBJECT)
    def retry(self, request: Request, pk: str | None = None) -> Response:
        outcome = services.quarantine_retry(actor=request.user, quarantine=self.get_object())
        return self._answer(outcome.quarantine)

    @extend_schema(
        request=None,
        responses={200: QuarantinedPayloadSerializer},
        description="Give up on the payload: `status` becomes `discarded`; its raw bytes stay. "
        "An open payload only; 400 otherwise.",
    )
    @action(detail=True, methods=["post"], **ONE_OBJECT)
    def discard(self, request: Request, pk: str | None = None) -> Response:
        quarantine = services.quarantine_discard(actor=request.user, quarantine=self.get_object())
        return self._answer(quarantine)

    @extend_schema(
        responses={
            (200, RAW_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The payload byte for byte, as a download."
            ),
        },
        description="The payload exactly as the channel delivered it (for mail, the whole "
        "message), always as a download, never shown inline.",
    )
    @action(detail=True, methods=["get"], **ONE_OBJECT)
    def raw(self, request: Request, pk: str | None = None) -> HttpResponse:
        payload = self.get_object().payload
        return storage_download(
            payload.file, filename=f"payload-{payload.pk}.eml", content_type=RAW_CONTENT_TYPE
        )
