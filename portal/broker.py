"""kombu's filesystem transport for the embedded default, with each message written atomically.

kombu writes a message file in place (open, lock, write). A worker polling the folder renames
and reads any file it finds, and the lock is only advisory, so it can take a file between the
open and the write, read nothing, and stop with "Unrecoverable error: JSONDecodeError" (seen in
the process tests under load: the embedded worker of ``make run`` would die the same way).
Here each message is written under a name the reader skips and renamed into place, which is
atomic within one folder. ``portal.celery`` registers the transport as ``portalfs://``."""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "portalfs"
# The reader takes only names ending in ".<queue>.msg"; a partial file ends otherwise.
PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
