"""The feedback app's pages: the inbox, channel settings, channel health, quarantine and file
downloads. One module per subject; ``feedback/urls.py`` names the views through them."""

from feedback.views.items import inbox

__all__ = ["inbox"]
