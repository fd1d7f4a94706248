"""The inbox benchmark's comparison site: the portal's own URLs plus one bare view
(``/bench/rows/``) that renders a page of inbox rows from one hand-written query."""
