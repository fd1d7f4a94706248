"""Parsing stored payloads into items and messages, from the stored bytes.

``payload_parse`` runs for a pending payload and ends with it parsed (a message, new or
already stored) or quarantined (its raw bytes kept, the error said). It may run twice, in two
workers at once, or again after a crash: the payload's status is the guard, and the message's
identity (team, Message-ID, content hash) is a unique constraint, so nothing is stored twice.

Identity: the same mail fetched twice, redelivered (other transport headers), or arriving
through two channels of one team is one message; two different mails sharing a Message-ID
are two. Machine mail (auto-replies, bounces, receipts, complaints, bulk) is stored in its
lane, joins the item it is about when there is one, and never opens or reopens an item nor
emits ``feedback.message_received``; without an item it is stored with ``item`` empty.
A customer's mail on a waiting or resolved item reopens it. Every write is the system's.

``common`` holds what both paths share (outcomes, quarantine, reading a payload's bytes),
``store`` stores one parsed mail, ``single`` parses one payload per transaction and
``chunks`` a chunk of payloads per transaction.
"""

# The storage read and the parser are looked up here, on the package, when a payload is read
# (``common._read``): this is where they are replaced to simulate a lost file or a parser bug.
from feedback.mail import parse_message
from feedback.services.parsing.chunks import PARSE_CHUNK, payloads_parse
from feedback.services.parsing.common import (
    PARSER_FAILED,
    PAYLOAD_FILE_MISSING,
    STORE_FAILED,
    ParseOutcome,
)
from feedback.services.parsing.single import payload_parse
from feedback.services.storage import blob_read

__all__ = [
    "PARSER_FAILED",
    "PARSE_CHUNK",
    "PAYLOAD_FILE_MISSING",
    "STORE_FAILED",
    "ParseOutcome",
    "blob_read",
    "parse_message",
    "payload_parse",
    "payloads_parse",
]
