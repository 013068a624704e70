"""Files at rest, sealed with the field keys (PIPL art. 51: encryption of personal information).

An import or payment file holds names, ID numbers and phones of thousands of debtors; it is kept only
while it is being worked on, and sealed (Fernet, the FIELD_ENCRYPTION_KEYS of portal.lib.crypto, so
keys rotate the same way: newest first, older keys still open older files) from the moment it is
written. A sealed file starts with MAGIC; a wrong key raises, it never yields garbage. A file written
before sealing existed (no MAGIC) is read as it is, so work in flight during an upgrade still opens.
"""

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.files.base import ContentFile

from .crypto import _fernet

MAGIC = b"caseport-sealed:1\n"


class FileGone(Exception):
    """The stored file is no longer there (deleted after use, or by the retention task)."""


class FileUnreadable(Exception):
    """The stored file is sealed with a key that is no longer configured, or was altered."""


def seal(content: bytes) -> bytes:
    return MAGIC + _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(content)


def is_sealed(data: bytes) -> bool:
    return data.startswith(MAGIC)


def unseal(data: bytes) -> bytes:
    if not is_sealed(data):
        return data
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(data[len(MAGIC) :])
    except InvalidToken as error:
        raise FileUnreadable("sealed with an unknown key, or altered") from error


def save(storage, name: str, content: bytes) -> str:
    """Write ``content`` sealed under ``name``; returns the name the storage chose."""
    return storage.save(name, ContentFile(seal(content)))


def read(storage, name: str) -> bytes:
    """The plain bytes of a sealed (or older, plain) stored file; FileGone when it is not there."""
    if not name:
        raise FileGone(name)
    try:
        with storage.open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError as error:
        raise FileGone(name) from error
    return unseal(data)


def delete(storage, name: str) -> None:
    """Delete a stored file; a file already gone is fine (deleting twice is the same as once)."""
    if name:
        storage.delete(name)
