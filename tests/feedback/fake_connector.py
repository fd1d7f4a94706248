"""A connector that serves mail from a Python list, for the tests of the pipeline around the
connector (dispatcher, leases, backoff, health, storing) that need no mail server.

Tests register it for one test with ``fake_connector`` (``monkeypatch.setitem`` on the
registry), put mail into ``connector.mails`` and arm ``connector.errors`` with exceptions that
the next fetches raise, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from feedback.channels import CONNECTORS, ConfigError, FetchedItem, FetchResult

KIND = "fake"
RECEIVED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@dataclass
class FakeConnector:
    kind: str = KIND
    secret_fields: frozenset[str] = frozenset({"token"})
    push: bool = False
    mail: bool = True
    reply_by: str = "email"
    mails: list[bytes] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    after_store_errors: list[BaseException] = field(default_factory=list)
    fetches: int = 0
    stored_batches: list[list[str]] = field(default_factory=list)

    def validate_config(self, config: dict[str, Any], *, allow_plaintext: bool = False) -> dict:
        if "address" in config and "@" not in str(config["address"]):
            raise ConfigError("address must be an e-mail address", field="address")
        return {"address": "", "token": "", **config}

    def check(self, config: dict[str, Any], *, url: str | None = None):
        raise NotImplementedError

    def fetch(
        self,
        config: dict[str, Any],
        cursor: dict[str, Any] | None,
        *,
        limit: int = 100,
        max_bytes: int = 20 * 1024 * 1024,
    ) -> FetchResult:
        self.fetches += 1
        if self.errors:
            raise self.errors.pop(0)
        position = (cursor or {}).get("position", 0)
        batch = self.mails[position : position + limit]
        items = [
            FetchedItem(
                source_id=f"fake:{position + offset + 1}",
                raw=raw,
                received_at=RECEIVED,
                metadata={"position": position + offset + 1},
            )
            for offset, raw in enumerate(batch)
        ]
        end = position + len(batch)
        return FetchResult(items, {"position": end}, more=end < len(self.mails))

    def after_store(self, config: dict[str, Any], items: list[FetchedItem]) -> None:
        self.stored_batches.append([item.source_id for item in items])
        if self.after_store_errors:
            raise self.after_store_errors.pop(0)


@pytest.fixture
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> FakeConnector:
    """A FakeConnector registered as kind ``fake`` for one test."""
    connector = FakeConnector()
    monkeypatch.setitem(CONNECTORS, KIND, connector)
    return connector
