"""The portal's settings with the bench site's URLs and template folder added: the portal's
pages are served unchanged beside the bare view."""

from pathlib import Path

from portal.settings import *  # noqa: F403
from portal.settings import TEMPLATES

ROOT_URLCONF = "bench.inbox_site.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]
