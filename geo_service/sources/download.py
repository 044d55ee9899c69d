"""Downloading producers' files into a cache, with resumption, size and checksum checks.

:func:`download` fetches a URL into ``dest``:

- a cached file is reused when its ``<name>.sha256`` sidecar (``sha256sum`` format) matches
  its content, and the expected checksum if one is given;
- the body is written to ``<name>.part``; an interrupted transfer is resumed with an HTTP
  ``Range`` request (``If-Range`` with the validator of the first response, so a file changed
  on the server is downloaded again from the start), up to ``retries`` more attempts;
- the size is checked against ``Content-Length`` / ``Content-Range`` and the SHA-256 against
  the expected one (a mismatch discards the download and is refused);
- the finished file replaces ``dest`` atomically, keeps the server's ``Last-Modified`` as its
  modification time (the date of the data), and gets its ``.sha256`` sidecar.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from geo_service.errors import GeoServiceError

#: Called with the bytes received so far and the total size (None when unknown).
ProgressHook = Callable[[int, int | None], None]

_CHUNK: Final = 1 << 20
_RETRY_DELAY_S: Final = 0.5


class DownloadError(GeoServiceError):
    """A file could not be downloaded, or was refused (size or checksum mismatch)."""


class _ServerError(DownloadError):
    """A 5xx answer: worth another attempt."""


@dataclass(frozen=True)
class Download:
    """A file in the download cache."""

    url: str
    path: Path
    sha256: str
    size: int
    cached: bool = False
    resumed: bool = False


def sidecar(path: Path) -> Path:
    """The ``.sha256`` file kept next to a cached file."""
    return path.with_name(f"{path.name}.sha256")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_file(path: Path, expected_sha256: str | None = None) -> Download | None:
    """The cached ``path`` if its sidecar matches its content (and ``expected_sha256``)."""
    try:
        recorded = sidecar(path).read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError):
        return None
    if not path.is_file():
        return None
    if expected_sha256 is not None and recorded != expected_sha256.lower():
        return None
    actual = file_sha256(path)
    if actual != recorded:
        return None
    return Download(url="", path=path, sha256=actual, size=path.stat().st_size, cached=True)


def download(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    expected_sha256: str | None = None,
    refresh: bool = False,
    retries: int = 3,
    progress: ProgressHook | None = None,
) -> Download:
    """Download ``url`` into ``dest`` (see the module docstring).

    Parameters
    ----------
    client
        HTTP client (timeouts, proxies and redirects are its settings).
    url
        File to fetch.
    dest
        Path of the cached file; its folder is created.
    expected_sha256
        Checksum from a manifest, if any: a file that does not match is refused.
    refresh
        Download again even when the cache holds a valid copy.
    retries
        Further attempts after a broken transfer, each resuming where the last stopped.
    progress
        Called as bytes arrive.

    Raises
    ------
    DownloadError
        On HTTP errors, repeated broken transfers, or a size or checksum mismatch.
    """
    if not refresh:
        hit = cached_file(dest, expected_sha256)
        if hit is not None:
            if progress:
                progress(hit.size, hit.size)
            return Download(url=url, path=dest, sha256=hit.sha256, size=hit.size, cached=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.part")
    state_file = dest.with_name(f"{dest.name}.part.json")
    state = _load_state(state_file, url, part)
    resumed = False
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(_RETRY_DELAY_S * attempt)
        offset = part.stat().st_size if part.is_file() else 0
        resumed = resumed or offset > 0
        try:
            complete = _transfer(client, url, part, state, state_file, offset, progress)
        except (httpx.TransportError, _ServerError) as exc:
            last_error = exc
            continue
        if complete:
            break
        last_error = DownloadError(f"{url}: the transfer ended before the announced size")
    else:
        raise DownloadError(
            f"{url}: download failed after {retries + 1} attempt(s) "
            f"({_describe(last_error)}); the partial file {part.name} is kept and the next "
            "run resumes it"
        )
    return _finish(url, part, state_file, state, dest, expected_sha256, resumed)


def _transfer(
    client: httpx.Client,
    url: str,
    part: Path,
    state: dict[str, Any],
    state_file: Path,
    offset: int,
    progress: ProgressHook | None,
) -> bool:
    """One request; True when ``part`` holds the whole file afterwards."""
    headers = {"Accept-Encoding": "identity"}  # the bytes of the file, for Range offsets
    validator = state.get("etag") or state.get("last_modified")
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = str(validator)
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and offset > 0:
            part.unlink(missing_ok=True)  # stale partial file: start again on the next attempt
            return False
        if response.status_code not in (200, 206):
            error = _ServerError if response.status_code >= 500 else DownloadError
            raise error(
                f"{url}: the server answered HTTP {response.status_code} "
                f"{response.reason_phrase}; expected the file (200)"
            )
        start, total = _range_of(response)
        if response.status_code == 206 and start != offset:
            part.unlink(missing_ok=True)  # not the range asked for: start again
            return False
        if response.status_code == 200:
            offset = 0  # the whole file (the server ignored the range, or it changed)
        state.update(
            url=url,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            total=total,
        )
        state_file.write_text(json.dumps(state), encoding="utf-8")
        with part.open("ab" if offset else "wb") as handle:
            done = offset
            if progress:
                progress(done, total)
            for chunk in response.iter_raw():  # as received: a cut keeps what arrived
                handle.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    size = part.stat().st_size
    if total is not None and size > total:
        part.unlink(missing_ok=True)
        return False
    return total is None or size == total


def _range_of(response: httpx.Response) -> tuple[int, int | None]:
    """Where the body starts in the file, and the file's total size (None if unknown)."""
    length = response.headers.get("content-length")
    if response.status_code == 206:
        unit, _, spec = response.headers.get("content-range", "").partition(" ")
        span, _, size = spec.partition("/")
        first = span.partition("-")[0]
        if unit == "bytes" and first.isdigit():
            total = int(size) if size.isdigit() else None
            return int(first), total
        return 0, None
    return 0, int(length) if length and length.isdigit() else None


def _finish(
    url: str,
    part: Path,
    state_file: Path,
    state: dict[str, Any],
    dest: Path,
    expected_sha256: str | None,
    resumed: bool,
) -> Download:
    sha = file_sha256(part)
    if expected_sha256 is not None and sha != expected_sha256.lower():
        part.unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: checksum mismatch: the manifest expects SHA-256 {expected_sha256.lower()}, "
            f"the downloaded file has {sha}; the download was discarded (the file changed on "
            "the server, or the transfer was corrupted)"
        )
    size = part.stat().st_size
    modified = _http_date(state.get("last_modified"))
    if modified is not None:
        os.utime(part, (modified, modified))
    part.replace(dest)
    sidecar(dest).write_text(f"{sha}  {dest.name}\n", encoding="utf-8")
    state_file.unlink(missing_ok=True)
    return Download(url=url, path=dest, sha256=sha, size=size, resumed=resumed)


def _load_state(state_file: Path, url: str, part: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if state.get("url") != url:
        part.unlink(missing_ok=True)  # a partial file of another URL cannot be resumed
        return {"url": url}
    return state


def _http_date(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no attempt"
    if isinstance(exc, GeoServiceError):
        return exc.message
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
