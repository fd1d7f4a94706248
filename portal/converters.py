"""Path converters for the portal's URLs, registered by the root URLconf (``portal/urls.py``)
before any app's patterns are read."""

from portal.validation import MAX_ID


class IdConverter:
    """``<id:pk>``: an id of at most 2**63 - 1. Django's ``int`` converter takes any number of
    digits, and SQLite raises OverflowError on a larger one instead of finding nothing; here
    such a path matches no pattern and answers 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class SlugConverter:
    """``<uslug:slug>``: a slug in any script (``поддержка``, ``日本チーム``), as
    ``slugify(allow_unicode=True)`` makes them. Django's ``slug`` converter takes only ASCII;
    ``str`` would take anything, a NUL character included, which PostgreSQL refuses in a query."""

    regex = r"[-\w]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
