"""Generations of what the inbox keeps in the cache per team (its counts, its filter form's
choices): every kept value's key names the team's current generation, so starting a new one
makes all of them stale at once, without finding them (they expire on their own)."""

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

# What a kept value is before anybody read the cache for it (None means the cache had none).
NOT_READ = object()


@dataclass(frozen=True)
class TeamGenerations:
    """The generations of one kind of kept values, ``name`` telling the kinds apart."""

    name: str

    def _key(self, team_id: int) -> str:
        return f"{self.name}-generation:{team_id}"

    def current(self, team_id: int) -> int:
        return cache.get(self._key(team_id), 0)

    def forget(self, team_id: int) -> None:
        """Start a new generation: every value kept for the team is stale."""
        cache.set(self._key(team_id), time.time_ns(), None)

    def changed(self, team_id: int) -> None:
        """Start a new generation once the transaction commits (at once outside one)."""
        transaction.on_commit(lambda: self.forget(team_id))


def current_generations(team_id: int, *kinds: TeamGenerations) -> list[int]:
    """The team's current generation of each kind, read in one round trip."""
    keys = [kind._key(team_id) for kind in kinds]
    found = cache.get_many(keys)
    return [found.get(key, 0) for key in keys]
