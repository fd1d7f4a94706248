"""Benchmarks that print ratios measured side by side in one run: the portal's own code
against a hand-written SQL floor on the same data. Run them with ``make bench`` or
``python -m bench.run``; results and their reading are in ``docs/benchmarks.md``."""
