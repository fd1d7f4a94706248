from django.apps import AppConfig


def _queue_customer_erasure(payload: dict) -> None:
    from feedback.tasks import erase_customer_feedback

    erase_customer_feedback.delay(payload["customer_id"])


def _queue_merged_customer_items(payload: dict) -> None:
    from feedback.tasks import move_merged_customer_items

    move_merged_customer_items.delay(payload["source_id"], payload["target_id"])


# Ids per task for the handlers that get a transaction's payloads at once.
TASK_CHUNK = 200


def _chunks(ids: list[int]) -> list[list[int]]:
    ids = sorted(set(ids))
    return [ids[start : start + TASK_CHUNK] for start in range(0, len(ids), TASK_CHUNK)]


def _queue_items_duplicates(payloads: list[dict]) -> None:
    from feedback.services.duplicates import duplicates_queue

    duplicates_queue(payload["item_id"] for payload in payloads)


def _queue_items_sla(payloads: list[dict]) -> None:
    from feedback.tasks import start_items_sla

    for chunk in _chunks([payload["item_id"] for payload in payloads]):
        start_items_sla.delay(chunk)


def _queue_item_sla_restart(payload: dict) -> None:
    from feedback.tasks import restart_item_sla

    restart_item_sla.delay(payload["item_id"])


def _queue_customers_priorities(payloads: list[dict]) -> None:
    from feedback.tasks import refresh_customers_priorities

    for chunk in _chunks([payload["customer_id"] for payload in payloads]):
        refresh_customers_priorities.delay(chunk)


def _queue_account_priorities(payload: dict) -> None:
    from feedback.tasks import refresh_account_priorities

    refresh_account_priorities.delay(payload["account_id"])


def _forget_team_choices(payload: dict) -> None:
    from feedback.inbox.choices import team_choices_forget

    team_choices_forget(payload["team_id"])


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self) -> None:
        from portal import events

        # A customer's right to erasure reaches the messages they sent (ARCHITECTURE.md:
        # against the direction of the dependencies, through an event).
        events.register("portal.customer_erased", _queue_customer_erasure)
        # A merged customer's feedback items follow them into the customer they were merged
        # into (the directory keeps the source as a tombstone).
        events.register("portal.customers_merged", _queue_merged_customer_items)
        # A new item is compared with the same customer's items from other channels, the
        # items of one transaction (a parse chunk, an import) in one task per chunk of them.
        events.register_batch("feedback.item_created", _queue_items_duplicates)
        # Priority customers and service levels (feedback.services.sla): a new item gets its
        # automatic priority and due times, a reopened one a fresh resolution period, and a
        # customer whose tier or account changed has their open items re-evaluated.
        # Batched: the items a parse chunk or an import opens, the customers it creates, are
        # one task per transaction, not one each.
        events.register_batch("feedback.item_created", _queue_items_sla)
        events.register("feedback.item_reopened", _queue_item_sla_restart)
        events.register_batch("portal.customer_saved", _queue_customers_priorities)
        events.register("portal.account_saved", _queue_account_priorities)
        # The inbox keeps each team's members and channels for its filter form
        # (feedback.inbox.choices); a membership that changes makes them stale.
        events.register("portal.membership_changed", _forget_team_choices)

        from feedback.imports import FEEDBACK_IMPORTER
        from portal.imports import importer_register

        # The CSV import of feedback joins the portal's import machinery, which cannot import
        # this app (the portal is what the apps depend on).
        importer_register(FEEDBACK_IMPORTER)
