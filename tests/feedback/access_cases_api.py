"""The feedback app's API endpoints in the access matrix."""

from tests.access import Case, Objects

CASES: dict[str, Case] = {}


def objects(world) -> Objects:
    return {}
