"""API keys: how they are hashed for the settings, and the check of the write endpoints.

Reading is public; writing (upload, analysis, deletion) needs the API key whose hash is
``GEO_SERVICE_API_KEY_HASH``. Only the hash is ever stored: scrypt with a random salt, written
``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (URL-safe base64). A request gives its key as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; the key is compared in constant time
(:func:`hmac.compare_digest`). Without a key the answer is 401 (with ``WWW-Authenticate``),
with a wrong one 403, and when no hash is configured every write is refused with 403. A client
that gave :data:`MAX_FAILURES` wrong keys within a minute is answered 429 (``Retry-After``)
without hashing, and at most :data:`MAX_CONCURRENT_HASHES` hashes run at once, so that a flood
of guesses cannot slow the readers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from typing import Final

from fastapi import Request

from geo_service.errors import AuthError, ForbiddenError, ParameterError, RateLimitedError

#: scrypt cost (2**14 blocks of 8 x 128 bytes: 16 MiB and a few tens of ms per hash).
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_SALT_BYTES: Final = 16
_HASH_BYTES: Final = 32
#: Longest key accepted in a header (longer ones are refused without hashing them).
MAX_KEY_LENGTH: Final = 256
#: Wrong keys one client may give within :data:`FAILURE_WINDOW_S` seconds; past them its
#: attempts are refused (429) without hashing, so that a flood of guesses costs no CPU.
MAX_FAILURES: Final = 10
FAILURE_WINDOW_S: Final = 60.0
#: Hashes computed at once (each takes a core for tens of ms): the others wait their turn.
MAX_CONCURRENT_HASHES: Final = 2
#: Clients remembered with their failures (the oldest are forgotten past it).
_MAX_CLIENTS: Final = 10_000


def new_api_key() -> str:
    """A new random API key (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def hash_api_key(key: str, *, salt: bytes | None = None) -> str:
    """The settings value (``GEO_SERVICE_API_KEY_HASH``) of API key ``key``.

    Parameters
    ----------
    key
        The key, at least 16 characters.
    salt
        Salt of the hash (default: 16 random bytes).
    """
    if len(key) < 16 or len(key) > MAX_KEY_LENGTH:
        raise ParameterError(
            "key", f"an API key must have 16 to {MAX_KEY_LENGTH} characters; got {len(key)}"
        )
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(key, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_api_key(key: str, stored: str) -> bool:
    """Whether ``key`` is the key of the hash ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(key, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


class KeyChecker:
    """The check of one configured key hash; remembers the last key it accepted.

    Hashing costs tens of milliseconds, so a key already accepted is recognised by a
    constant-time comparison of its SHA-256 instead (the key itself is never kept).
    """

    def __init__(self, stored: str | None) -> None:
        self.stored = stored or None
        self._accepted: bytes | None = None
        self._lock = threading.Lock()
        self._hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
        self._failures: dict[str, deque[float]] = {}

    def check(self, key: str | None, client: str = "") -> None:
        """Raise unless ``key`` may write: ForbiddenError (disabled, wrong), AuthError (none),
        RateLimitedError (``client`` gave too many wrong keys lately)."""
        if self.stored is None:
            raise ForbiddenError(
                "writing through the API is disabled: no API key is configured (set "
                "GEO_SERVICE_API_KEY_HASH to the hash printed by 'geo-service hash-key')"
            )
        if not key:
            raise AuthError(
                "this endpoint needs the API key, as 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'"
            )
        if len(key) > MAX_KEY_LENGTH:
            raise ForbiddenError("the API key is not valid")
        fingerprint = hashlib.sha256(key.encode()).digest()
        with self._lock:
            accepted = self._accepted
        if accepted is not None and hmac.compare_digest(fingerprint, accepted):
            return
        self._refuse_if_flooding(client)
        with self._hashing:
            valid = verify_api_key(key, self.stored)
        with self._lock:
            if not valid:
                self._failed(client)
                raise ForbiddenError("the API key is not valid")
            self._accepted = fingerprint
            self._failures.pop(client, None)

    def _refuse_if_flooding(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = self._failures.get(client)
            while recent and recent[0] <= now - FAILURE_WINDOW_S:
                recent.popleft()
            if recent is None or len(recent) < MAX_FAILURES:
                return
            wait = recent[0] + FAILURE_WINDOW_S - now
        raise RateLimitedError(
            f"{MAX_FAILURES} wrong API keys from this client in the last "
            f"{FAILURE_WINDOW_S:g} s; retry in {max(1, math.ceil(wait))} s",
            retry_after=max(1, math.ceil(wait)),
        )

    def _failed(self, client: str) -> None:
        """Note a wrong key from ``client`` (under the lock)."""
        if client not in self._failures and len(self._failures) >= _MAX_CLIENTS:
            del self._failures[next(iter(self._failures))]
        self._failures.setdefault(client, deque(maxlen=MAX_FAILURES)).append(time.monotonic())


def request_key(request: Request) -> str | None:
    """The API key a request gives (Bearer token, else X-API-Key), or None."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def require_api_key(request: Request) -> None:
    """Dependency of the write routes: the request must carry the configured API key.

    A plain function, so FastAPI runs it in a worker thread (hashing never blocks the loop).
    """
    checker: KeyChecker = request.app.state.key_checker
    checker.check(request_key(request), request.client.host if request.client else "")


def _scrypt(key: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("scrypt parameters out of range")
    return hashlib.scrypt(
        key.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=_HASH_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
