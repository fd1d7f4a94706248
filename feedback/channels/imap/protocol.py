"""Pure decisions on IMAP server answers: cursors, batches, FETCH responses, moves.

No network and no I/O here; ``connector`` feeds these functions what the server said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedback.channels.base import ConnectorError, FetchedItem

FETCH_INCOMPLETE = "the server sent no content for message UID {uid} in folder {folder}"


@dataclass(frozen=True)
class Batch:
    """Which UIDs one fetch takes, how far the cursor moves, and whether more remain."""

    uids: list[int]
    last_uid: int
    more: bool


def make_cursor(folder: str, uidvalidity: int, last_uid: int) -> dict[str, Any]:
    return {"folder": folder, "uidvalidity": uidvalidity, "last_uid": last_uid}


def cursor_last_uid(cursor: Mapping[str, Any] | None, *, folder: str, uidvalidity: int) -> int:
    """The last UID already fetched under this folder and UIDVALIDITY, else 0.

    A UIDVALIDITY change (folder recreated, mailbox migrated) makes every UID we know
    meaningless, so the fetch starts again from UID 0 under the new validity. Nothing is
    stored twice: the ingestion layer recognises a payload it already holds by its identity
    (Message-ID plus a hash of the content without transport headers). A cursor for another
    folder (the channel's folder was changed) or a malformed one restarts the same way.
    """
    if not isinstance(cursor, Mapping):
        return 0
    last_uid = cursor.get("last_uid")
    if (
        cursor.get("folder", folder) != folder
        or cursor.get("uidvalidity") != uidvalidity
        or isinstance(last_uid, bool)
        or not isinstance(last_uid, int)
        or last_uid < 0
    ):
        return 0
    return last_uid


def uids_after(found: Iterable[int], last_uid: int) -> list[int]:
    """UIDs above ``last_uid``, ascending.

    ``UID SEARCH UID n:*`` always matches the folder's highest UID, even when it is below n
    (``*`` is the largest UID in use and a range matches in either order), so the answer is
    filtered rather than trusted.
    """
    return sorted({int(uid) for uid in found if int(uid) > last_uid})


def plan_batch(uids: list[int], sizes: Mapping[int, int], *, limit: int, max_bytes: int) -> Batch:
    """Take UIDs in order while the batch stays within ``limit`` messages and ``max_bytes``.

    A message larger than ``max_bytes`` is fetched alone rather than never. A UID without a
    size was expunged after the search; it is passed over (UIDs are never reused within one
    UIDVALIDITY) and the cursor moves beyond it.
    """
    chosen: list[int] = []
    total = 0
    last_uid = None
    for uid in uids[: max(limit, 1)]:
        size = sizes.get(uid)
        if size is None:
            last_uid = uid
            continue
        if chosen and total + size > max_bytes:
            break
        chosen.append(uid)
        total += size
        last_uid = uid
    if last_uid is None:
        return Batch(uids=[], last_uid=0, more=False)
    return Batch(uids=chosen, last_uid=last_uid, more=uids[-1] > last_uid)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    # imapclient returns aware datetimes when times are not normalised; a naive one can
    # only come from a server that sent no zone, and IMAP dates without a zone mean UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _flags(value: Any) -> list[str]:
    if not isinstance(value, tuple | list):
        return []
    return [
        flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag) for flag in value
    ]


def items_from_fetch(
    response: Mapping[int, Mapping[bytes, Any]],
    *,
    uids: list[int],
    folder: str,
    uidvalidity: int,
) -> list[FetchedItem]:
    """Turn imapclient's parsed ``UID FETCH`` answer into items, in UID order.

    Only the requested UIDs are read (servers add unsolicited FETCH responses for flag
    changes). A requested UID absent from the answer was expunged in the meantime and is
    gone; one present without its content is a server fault worth retrying.
    """
    items = []
    for uid in uids:
        data = response.get(uid)
        if data is None:
            continue
        body = data.get(b"BODY[]")
        if not isinstance(body, bytes | bytearray):
            raise ConnectorError(FETCH_INCOMPLETE.format(uid=uid, folder=folder))
        raw = bytes(body)
        size = data.get(b"RFC822.SIZE")
        items.append(
            FetchedItem(
                source_id=f"{uidvalidity}:{uid}",
                raw=raw,
                received_at=_utc(data.get(b"INTERNALDATE")),
                metadata={
                    "folder": folder,
                    "uidvalidity": uidvalidity,
                    "uid": uid,
                    "size": size if isinstance(size, int) else len(raw),
                    "flags": _flags(data.get(b"FLAGS")),
                },
            )
        )
    return items


def uids_to_move(items: Iterable[FetchedItem], *, folder: str, uidvalidity: int) -> list[int]:
    """UIDs of the items that still name a message in ``folder`` under this UIDVALIDITY.

    Items fetched under an older UIDVALIDITY or from another folder are left alone: their
    UIDs may now point at different mail. They are fetched again under the new validity,
    recognised as already stored, and moved then.
    """
    uids = set()
    for item in items:
        if item.metadata.get("folder", folder) != folder:
            continue
        validity, _, uid = item.source_id.partition(":")
        if validity == str(uidvalidity) and uid.isascii() and uid.isdigit():
            uids.add(int(uid))
    return sorted(uids)
