"""Serializers of the triage writes: an item's status, assignee, tags, priority and snooze
(``PATCH items/{id}/``), the same for many items (``POST items/bulk/``), and tag management.

They shape the request; the services check the values (the team's tags, an assignee among the
team's agents, a snooze in the future, a known status) and their messages come back as field
errors. Related ids are looked up through the selectors, so that another team's tag the user
cannot see is answered like one that does not exist.
"""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from feedback import selectors
from feedback.models import ItemPriority, ItemStatus, Tag
from feedback.services.tags import TAG_COLOUR_INVALID
from feedback.services.triage import MAX_BULK_ITEMS, PRIORITY_AUTOMATIC
from portal import selectors as portal_selectors
from portal.api.serializers import AsciiIntegerField, SelectorRelatedField, TextField
from portal.models import Team

NO_SUCH_USER = "No such person: pick an agent of the item's team."
BULK_IDS_TOO_MANY = f"Select at most {MAX_BULK_ITEMS} items at once."
BULK_WHAT = "Send changes (status, assignee, tags, add_tags, remove_tags, priority, "
BULK_WHAT += "snoozed_until) or merge, not both and not neither."

_TAG_MAX = Tag._meta.get_field("name").max_length
# A priority by hand, or the rules' own: its schema enum is named in settings
# (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES), apart from the items' priorities.
PRIORITY_CHOICES = [*ItemPriority.choices, (PRIORITY_AUTOMATIC, "Automatic")]


class ServiceChoiceField(serializers.ChoiceField):
    """Documented with its choices; the service checks the value, with a message that names
    the choices (one wording for the API and the pages)."""

    def to_internal_value(self, data: Any) -> Any:
        if data is None and self.allow_null:
            return None
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return data


def _tags_field(help_text: str) -> serializers.Field:
    return SelectorRelatedField(
        selector=selectors.tag_list,
        queryset=Tag.objects.all(),
        many=True,
        required=False,
        help_text=help_text,
        error_messages={"does_not_exist": selectors.NO_SUCH_TAG},
    )


class TriageChangesSerializer(serializers.Serializer):
    """What triage changes; every field is optional and a field left out stays as it is."""

    status = ServiceChoiceField(choices=ItemStatus.choices, required=False)
    assignee = SelectorRelatedField(
        selector=portal_selectors.user_lookup_list,
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="The user id of an agent, lead or admin of the item's team; null unassigns.",
        error_messages={"does_not_exist": NO_SUCH_USER},
    )
    tags = _tags_field("Tag ids of the item's team: all of its tags (replacing the others).")
    priority = ServiceChoiceField(
        choices=PRIORITY_CHOICES,
        required=False,
        allow_null=True,
        help_text=f"A priority set by hand (kept from the automatic rules, reason 'set by "
        f"<name>'); `{PRIORITY_AUTOMATIC}` or null hands it back to the rules.",
    )
    snoozed_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The item leaves the default list until then (a time in the future); null "
        "ends the snooze. A customer's new message ends it too.",
    )


class FeedbackItemUpdateSerializer(TriageChangesSerializer):
    pass


class FeedbackItemBulkSerializer(TriageChangesSerializer):
    ids = serializers.ListField(
        child=AsciiIntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=MAX_BULK_ITEMS,
        help_text=f"The items to change, at most {MAX_BULK_ITEMS}.",
        error_messages={"max_length": BULK_IDS_TOO_MANY},
    )
    add_tags = _tags_field("Tag ids to add to each item (its other tags stay).")
    remove_tags = _tags_field("Tag ids to take off each item.")
    merge = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Merge the selected items into one of them instead of changing them: into "
        "`into`, or into the oldest (earliest first message) when `into` is left out.",
    )
    into = AsciiIntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="With `merge`: the target."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        changes = attrs.keys() - {"ids", "merge", "into"}
        if bool(changes) == bool(attrs.get("merge")):
            raise serializers.ValidationError({"detail": BULK_WHAT})
        return attrs


class BulkTriageResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.IntegerField(
        help_text="200 changed (or merged), 400 refused (see errors), 403 the role is too low "
        "in the item's team, 404 no such item among the user's teams."
    )
    item = serializers.JSONField(allow_null=True, help_text="The item as it is now (200).")
    errors = serializers.DictField(allow_null=True, child=serializers.JSONField())


# Tags ----------------------------------------------------------------------------------------


class FeedbackTagWriteSerializer(serializers.Serializer):
    """A new tag of a team (agents and above create tags as they tag)."""

    team = SelectorRelatedField(selector=portal_selectors.team_list, queryset=Team.objects.all())
    name = TextField(max_length=_TAG_MAX)
    colour = TextField(
        max_length=7,
        required=False,
        help_text="The badge colour, `#rrggbb`.",
        error_messages={"max_length": TAG_COLOUR_INVALID},
    )


class FeedbackTagUpdateSerializer(serializers.Serializer):
    """A new name or colour of a tag (leads and above); what is left out stays."""

    name = TextField(max_length=_TAG_MAX, required=False)
    colour = TextField(
        max_length=7,
        required=False,
        help_text="The badge colour, `#rrggbb`.",
        error_messages={"max_length": TAG_COLOUR_INVALID},
    )


class FeedbackTagMergeSerializer(serializers.Serializer):
    into = SelectorRelatedField(
        selector=selectors.tag_list,
        queryset=Tag.objects.all(),
        help_text="The tag that takes this one's items (of the same team); this tag is deleted.",
        error_messages={"does_not_exist": selectors.NO_SUCH_TAG},
    )


__all__ = [
    "BulkTriageResultSerializer",
    "FeedbackItemBulkSerializer",
    "FeedbackItemUpdateSerializer",
    "FeedbackTagMergeSerializer",
    "FeedbackTagUpdateSerializer",
    "FeedbackTagWriteSerializer",
]
