"""Encrypting and blind-indexing many ID numbers at once, for imports.

``portal.lib.crypto.encrypt`` makes one Fernet token per call: a fresh AES-CBC
context, padder and HMAC object each time, about 50 µs a number, which is
seconds for a 100,000-row import. The tokens here are the same Fernet tokens
(version, timestamp, random IV, AES-128-CBC of the PKCS7-padded text,
HMAC-SHA256 over all of it; with the newest key, as MultiFernet encrypts),
so ``crypto.decrypt`` reads them like any other; only the work is batched:

* CBC is a chain within one token, never across tokens, so the i-th block of
  every token is enciphered in one call of a single AES context used as the
  block function (ECB over many independent blocks): block i of each token is
  AES(plain_i XOR previous_i), previous_0 being that token's own random IV;
* the XORs are done on whole columns at once, as big integers;
* the HMAC-SHA256 (RFC 2104) starts from the key's inner and outer hash states,
  computed once, and the base64 is one C call per token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.lib import crypto

BLOCK = 16
FERNET_VERSION = b"\x80"


def _newest_key() -> tuple[bytes, bytes]:
    """(signing key, encryption key) of the newest key, as cryptography's Fernet splits it."""
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set")
    raw = base64.urlsafe_b64decode(keys[0].encode())
    if len(raw) != 32:
        raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.")
    return raw[:16], raw[16:]


def _hmac_sha256(key: bytes):
    """A function message -> HMAC-SHA256(key, message), equal to ``hmac.digest(key, message, "sha256")``,
    that reuses the hash states of the padded key instead of rebuilding them for every message."""
    if len(key) > 64:  # the block size of SHA-256
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner, outer = hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def mac(message: bytes, inner_copy=inner.copy, outer_copy=outer.copy) -> bytes:
        state = inner_copy()
        state.update(message)
        result = outer_copy()
        result.update(state.digest())
        return result.digest()

    return mac


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _xor(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "big") ^ int.from_bytes(right, "big")).to_bytes(len(left), "big")


def _pad(data: bytes) -> bytes:
    count = BLOCK - len(data) % BLOCK
    return data + bytes([count]) * count


def encrypt_many(plaintexts: list[str]) -> list[str]:
    """Fernet tokens (text) of the plaintexts, in order, equal in kind to ``crypto.encrypt`` of each."""
    if not plaintexts:
        return []
    signing_key, encryption_key = _newest_key()
    block_cipher = Cipher(algorithms.AES(encryption_key), modes.ECB()).encryptor()
    padded = [_pad(text.encode()) for text in plaintexts]
    ivs = os.urandom(BLOCK * len(padded))
    # Tokens with the same number of blocks are enciphered together, block column by block column.
    by_length: dict[int, list[int]] = {}
    for position, data in enumerate(padded):
        by_length.setdefault(len(data), []).append(position)
    ciphertexts: list[bytes] = [b""] * len(padded)
    for length, positions in by_length.items():
        previous = b"".join(ivs[p * BLOCK : (p + 1) * BLOCK] for p in positions)
        columns = []
        for start in range(0, length, BLOCK):
            plain = b"".join(padded[p][start : start + BLOCK] for p in positions)
            previous = block_cipher.update(_xor(plain, previous))
            columns.append(previous)
        for index, p in enumerate(positions):
            ciphertexts[p] = b"".join(column[index * BLOCK : (index + 1) * BLOCK] for column in columns)
    header = FERNET_VERSION + struct.pack(">Q", int(time.time()))
    tokens = []
    mac, encode = _hmac_sha256(signing_key), binascii.b2a_base64
    for position, ciphertext in enumerate(ciphertexts):
        basic = header + ivs[position * BLOCK : (position + 1) * BLOCK] + ciphertext
        tokens.append(encode(basic + mac(basic), newline=False).translate(_URLSAFE).decode())
    return tokens


def blind_indexes(values) -> list[str]:
    """``crypto.blind_index`` of each value, in one pass: the same key and input (crypto.blind_index_key and
    crypto.blind_index_input), the HMAC's key states computed once instead of once per value."""
    mac, prepare = _hmac_sha256(crypto.blind_index_key()), crypto.blind_index_input
    return [mac(prepare(value)).hex() for value in values]
