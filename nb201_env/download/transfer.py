"""Fetch one URL into a ``.part`` file with HTTP ``Range`` requests, resuming after dropped connections."""

from __future__ import annotations

import http.client
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from nb201_env.download.errors import DownloadError, VerificationError
from nb201_env.download.google_drive import google_drive_confirm_url, html_problem, response_cookies
from nb201_env.download.progress import ByteProgress
from nb201_env.download.verify import CHUNK, Digests, Target

log = logging.getLogger(__name__)

_MAX_HTML = 1 << 20  # a confirmation page is a few KB; never buffer more than this of an HTML answer
_MAX_HOPS = 3  # confirmation pages followed per request: more means the page is not what we think it is
_USER_AGENT = "nb201_env-downloader (python urllib)"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class Interrupted(Exception):
    """The transfer stopped early; the ``.part`` file keeps what arrived and can be resumed."""


class Unreachable(Exception):
    """No connection could be made (DNS, refused, timeout, TLS): the next URL may still work."""


class _Restart(Exception):
    """The ``.part`` file cannot be continued (server ignored or mis-answered the range): start from byte 0."""


def part_size(part: Path) -> int:
    """Return how many bytes of a download are already on disk."""
    return part.stat().st_size if part.is_file() else 0


def fetch_url(
    url: str,
    target: Target,
    part: Path,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    retries: int,
    bar: ByteProgress,
) -> Digests:
    """Fetch ``part`` from one URL, resuming after dropped connections; return its digests."""
    attempt = 0
    while True:
        offset = part_size(part)
        if target.size is not None and offset > target.size:
            log.warning("%s is larger than the whole file (%d > %d bytes); starting over", part, offset, target.size)
            part.unlink()
            offset = 0
        try:
            return _transfer(url, target, part, offset, opener, timeout, bar)
        except _Restart as exc:
            log.warning("%s; restarting %s from byte 0", exc, target.filename)
            part.unlink(missing_ok=True)
        except Interrupted as exc:
            if attempt >= retries:
                raise
            log.warning("%s; resuming (attempt %d of %d)", exc, attempt + 1, retries)
        attempt += 1
        if attempt > retries + 1:  # restarts count too, so a server that always mis-answers cannot loop forever
            raise DownloadError(f"{url} keeps answering range requests inconsistently")


def _open(
    url: str, offset: int, opener: urllib.request.OpenerDirector, timeout: float, cookies: Mapping[str, str]
) -> Any:
    """Send one GET (ranged when resuming); raise ``HTTPError`` as is and connection failures as Unreachable."""
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}  # identity: byte offsets must be raw
    if offset:
        headers["Range"] = f"bytes={offset}-"
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    try:
        return opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError:
        raise
    except urllib.error.URLError as exc:
        raise Unreachable(f"{urllib.parse.urlsplit(url).hostname}: {exc.reason}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise Unreachable(f"{urllib.parse.urlsplit(url).hostname}: {exc!r}") from None


def _transfer(
    url: str,
    target: Target,
    part: Path,
    offset: int,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    bar: ByteProgress,
) -> Digests:
    """Make one request, following confirmation pages, and append its body to ``part``; return the digests."""
    # An HTML answer is taken for a confirmation page (the benchmark files are never HTML); a page without a
    # way forward becomes a DownloadError saying what the page is (quota, sign-in, ...).
    cookies: dict[str, str] = {}
    for _ in range(_MAX_HOPS + 1):
        try:
            response = _open(url, offset, opener, timeout, cookies)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:
                exc.close()
                return _range_not_satisfiable(exc, part, offset)
            raise
        with response:
            content_type = response.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() == "text/html":
                page = response.read(_MAX_HTML).decode("utf-8", "replace")
                cookies.update(response_cookies(response.headers))
                next_url = google_drive_confirm_url(response.geturl(), page, cookies)
                if next_url is None:
                    raise DownloadError(html_problem(page))
                log.info("%s: following the download confirmation page to %s", target.filename, next_url)
                url = next_url
                continue
            return _stream(response, url, target, part, offset, bar)
    raise DownloadError(f"{url}: still a confirmation page after {_MAX_HOPS} hops")


def _range_not_satisfiable(exc: urllib.error.HTTPError, part: Path, offset: int) -> Digests:
    """Handle 416 to a resume request: the ``.part`` is either already complete or longer than the file."""
    match = re.search(r"/(\d+)", exc.headers.get("Content-Range", "") if exc.headers else "")
    if match and int(match.group(1)) == offset:
        return Digests.of_file(part)
    raise _Restart(f"the server cannot serve {part.name} from byte {offset} (HTTP 416)")


def _stream(response: Any, url: str, target: Target, part: Path, offset: int, bar: ByteProgress) -> Digests:
    """Write a 200/206 body to ``part`` (appending on 206), hashing everything; return the digests."""
    status = response.status
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    if offset and status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != offset:
            got = response.headers.get("Content-Range")
            raise _Restart(f"{url} answered the range request for byte {offset} with Content-Range {got!r}")
        total = None if match.group(3) == "*" else int(match.group(3))
    elif offset:
        log.warning("%s ignored the range request (HTTP %d); downloading %s from the start", url, status, part.name)
        offset, total = 0, length
    else:
        total = length
    if total is None and length is not None:
        total = offset + length
    if target.size is not None and total is not None and total != target.size:
        raise VerificationError(
            f"size mismatch for {target.filename}: expected {target.size:,} bytes, the server offers {total:,} ({url})"
        )
    digests = Digests.of_file(part) if offset else Digests()  # resume the hash from the bytes already on disk
    bar.start(total, offset)
    with open(part, "ab" if offset else "wb") as fh:
        try:
            received = _copy(response, fh, digests, bar, target.size, target.filename)
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise Interrupted(f"connection lost after {digests.size:,} bytes ({exc!r})") from None
        finally:
            fh.flush()
            os.fsync(fh.fileno())  # the bytes a resume relies on must really be on disk
    if length is not None and received < length:
        raise Interrupted(f"connection closed after {digests.size:,} of {offset + length:,} bytes")
    return digests


def _copy(response: Any, fh: BinaryIO, digests: Digests, bar: ByteProgress, limit: int | None, what: str) -> int:
    """Copy the body to ``fh`` in chunks; stop with a size error as soon as it exceeds ``limit``."""
    received = 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while n := response.readinto(view):
        chunk = view[:n]
        fh.write(chunk)
        digests.update(chunk)
        bar.update(n)
        received += n
        if limit is not None and digests.size > limit:
            raise VerificationError(f"size mismatch for {what}: expected {limit:,} bytes, the server sent more")
    return received
