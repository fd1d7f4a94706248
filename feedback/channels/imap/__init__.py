"""IMAP mailbox connector (imapclient); see ``connector`` for what it does and why."""

from feedback.channels.imap.config import ImapSettings, is_loopback, parse_config
from feedback.channels.imap.connector import ImapConnector

__all__ = ["ImapConnector", "ImapSettings", "is_loopback", "parse_config"]
