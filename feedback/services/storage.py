"""Files of the feedback app in Django's storage, content-addressed by SHA-256.

``raw/ab/cd/<sha256>`` holds a payload exactly as it arrived, ``attachments/ab/cd/<sha256>``
an attachment's bytes. The same bytes get the same name, so a mail fetched twice, or one
attachment sent by a hundred customers, is stored once. Only the Storage API is used
(``exists``, ``size``, ``save``, ``open``), so S3 and other backends work as the file system does.

Files are written before the database rows that name them are committed: a crash between the
two leaves a file nobody names (harmless: the next attempt finds it and uses it), never a row
without its file.
"""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

RAW_PREFIX = "raw"
ATTACHMENT_PREFIX = "attachments"


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def blob_name(prefix: str, sha256: str) -> str:
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def blob_store(
    prefix: str, content: bytes, *, sha256: str | None = None, storage: Storage | None = None
) -> str:
    """Store ``content`` under its hash (once) and return the file's name."""
    storage = storage or default_storage
    digest = sha256 or sha256_hex(content)
    name = blob_name(prefix, digest)
    if storage.exists(name):
        # A writer killed half-way (the file system writes in place) leaves a short file under
        # the right name; the size tells it from a complete one, since the name fixes the
        # content.
        if storage.size(name) == len(content):
            return name
        storage.delete(name)
    saved = storage.save(name, ContentFile(content))
    if saved != name:
        # Another writer stored the same bytes between exists() and save(), so the storage
        # chose another name for ours: the bytes are the same, the copy goes.
        storage.delete(saved)
    return name


def blob_read(name: str, *, storage: Storage | None = None) -> bytes:
    with (storage or default_storage).open(name, "rb") as stored:
        return stored.read()
