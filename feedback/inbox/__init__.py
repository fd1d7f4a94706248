"""The inbox's list: its query (``params``), items, pages and counts (``query``), orders
(``ordering``, which the models' indexes import, so this package imports nothing on its own),
keyset pages (``keyset``) and CSV export (``export``). Callers read them through
``feedback.selectors``."""
