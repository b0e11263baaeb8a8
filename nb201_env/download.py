"""Download the official NB201 / NATS-Bench topology files, verify them and convert them into a store.

:func:`download` streams a file to ``<name>.part`` with HTTP ``Range`` requests (so an interrupted transfer
resumes where it stopped, also across runs), hashes it while it arrives (SHA-256, plus MD5 for the official
files whose names end in MD5 digits), and renames it into place only once every known check passed.
:func:`fetch_and_convert` downloads a :data:`KNOWN_FILES` entry and converts it with the matching importer.

Only the standard library (``urllib``) and tqdm are used. Google Drive, where the authors host the files, answers
large files with an HTML "can't scan for viruses" page instead of the bytes: :func:`google_drive_confirm_url`
turns that page (or its ``download_warning`` cookie) into the URL of the real download.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import http.cookies
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO, Literal

from nb201_env.locate import default_store_path

log = logging.getLogger(__name__)

Kind = Literal["nats", "nb201"]
CHUNK = 1 << 20  # 1 MiB: few syscalls per GB, small enough for a smooth progress bar
DEFAULT_TIMEOUT = 30.0  # seconds per connect and per read; Google Drive can take ~10 s to start a large file
DEFAULT_RETRIES = 3  # automatic resumes after a dropped connection within one call
_MAX_HTML = 1 << 20  # a confirmation page is a few KB; never buffer more than this of an HTML answer
_MAX_HOPS = 3  # confirmation pages followed per request: more means the page is not what we think it is
_USER_AGENT = "nb201_env-downloader (python urllib)"
_DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")


class DownloadError(OSError):
    """A file could not be downloaded (network, HTTP status, unexpected page); the message says what to do."""


class VerificationError(DownloadError):
    """A downloaded file does not have the expected size or checksum; the partial download was deleted."""


def drive_file_url(file_id: str) -> str:
    """Return the direct-download URL of a public Google Drive file (skips the virus-scan page if it can)."""
    # ``confirm=t`` is what Drive's own "Download anyway" form submits since 2024; the older ``uc`` endpoint
    # below stays as a fallback because it still answers with the classic confirmation page.
    return f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"


def drive_uc_url(file_id: str) -> str:
    """Return the classic ``uc?export=download`` URL of a Google Drive file."""
    return f"https://drive.google.com/uc?export=download&id={file_id}"


def _drive_urls(file_id: str) -> tuple[str, ...]:
    return (drive_file_url(file_id), drive_uc_url(file_id))


@dataclass(frozen=True)
class KnownFile:
    """One official benchmark file: where it is published, what it must look like, which converter reads it."""

    # Checks that are None are unknown and skipped; the file is then verified by the remaining ones and by the
    # conversion itself (bz2 CRCs and the pickle structure catch truncation and corruption). reported_* values
    # come from third parties, not the authors: a mismatch only logs a warning.

    name: str
    filename: str
    kind: Kind  # the importer, as in `nb201 convert <kind> <file>`
    urls: tuple[str, ...]  # tried in order
    page: str  # the human-facing link the authors publish (for manual downloads)
    listed_at: str  # where that link is published
    size: int | None = None
    sha256: str | None = None
    md5_suffix: str | None = None  # the official file names end in the last hex digits of the file's MD5
    reported_size: int | None = None
    reported_sha256: str | None = None
    description: str = ""


_NATS_README = "https://github.com/D-X-Y/NATS-Bench#preparation-and-download"
_NB201_README = "https://github.com/D-X-Y/NAS-Bench-201#preparation-and-download"

KNOWN_FILES: Mapping[str, KnownFile] = {
    f.name: f
    for f in (
        # Drive ID from the NATS-Bench README table, column "archive (tss)", row 2020.08.31:
        # https://drive.google.com/file/d/17_saCsj_krKjlCBLOJEpNtzPXArMCqxU/view (also used by many scripts).
        # Size from docs/official-formats.md (measured on the real tar). The "3ffb9" in the name is the MD5 of the
        # single-file pickle, not of this tar, so there is no official checksum. One third party (a public
        # ExpGym download script) pins the same size and the SHA-256 below: recorded, not enforced.
        KnownFile(
            name="nats-tss-simple",
            filename="NATS-tss-v1_0-3ffb9-simple.tar",
            kind="nats",
            urls=_drive_urls("17_saCsj_krKjlCBLOJEpNtzPXArMCqxU"),
            page="https://drive.google.com/file/d/17_saCsj_krKjlCBLOJEpNtzPXArMCqxU/view",
            listed_at=_NATS_README,
            size=1_145_989_120,
            reported_sha256="580fd8f3425fed9f495640b0f12ccb7744f89dec7aff263bd75aed37ab0b8bb6",
            description="NATS-Bench tss 'simple' archive: one bz2 pickle per arch (fast_mode layout), 1.1 GB",
        ),
        # Drive ID from the same README table, column "benchmark file (tss)":
        # https://drive.google.com/file/d/1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul/view. "3ffb9" = last 5 hex digits of
        # the file's MD5: AutoDL-Projects exps/NATS-Bench/tss-collect.py names it with get_md5_file(), which keeps
        # digest[-5:]. Size unknown (the docs say ~1 GB).
        KnownFile(
            name="nats-tss",
            filename="NATS-tss-v1_0-3ffb9.pickle.pbz2",
            kind="nats",
            urls=_drive_urls("1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul"),
            page="https://drive.google.com/file/d/1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul/view",
            listed_at=_NATS_README,
            md5_suffix="3ffb9",
            description="NATS-Bench tss single benchmark file (fast_mode=False layout), ~1 GB",
        ),
        # Drive ID from the NAS-Bench-201 README ("[recommended] The latest benchmark file ... v1_1-096897.pth"):
        # https://drive.google.com/file/d/16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_/view. The README says "096897 is the
        # last six digits for this file" (its MD5). The byte size was reported by a third party together with
        # the full MD5 55e8...6b096897, whose suffix matches: recorded as reported, not enforced.
        KnownFile(
            name="nb201-v1_1",
            filename="NAS-Bench-201-v1_1-096897.pth",
            kind="nb201",
            urls=_drive_urls("16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_"),
            page="https://drive.google.com/file/d/16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_/view",
            listed_at=_NB201_README,
            md5_suffix="096897",
            reported_size=5_003_180_601,
            description="NAS-Bench-201 v1.1 benchmark file (legacy torch .pth), 4.7 GB",
        ),
        # Drive ID from the NAS-Bench-201 README ("[deprecated] The old benchmark file", 2020.02.25 entry):
        # https://drive.google.com/file/d/1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs/view; "e61699" as above.
        KnownFile(
            name="nb201-v1_0",
            filename="NAS-Bench-201-v1_0-e61699.pth",
            kind="nb201",
            urls=_drive_urls("1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs"),
            page="https://drive.google.com/file/d/1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs/view",
            listed_at=_NB201_README,
            md5_suffix="e61699",
            description="NAS-Bench-201 v1.0 benchmark file (deprecated by the authors; fewer hp-12 runs), 2.2 GB",
        ),
    )
}


def default_download_dir() -> Path:
    """Return where downloads go by default: a ``downloads`` folder beside the default store."""
    return default_store_path().parent / "downloads"


def known_file(name: str) -> KnownFile:
    """Return the registry entry called ``name``, or raise a ``KeyError`` listing the valid names."""
    try:
        return KNOWN_FILES[name]
    except KeyError:
        raise KeyError(f"unknown benchmark file {name!r}; known files are {', '.join(KNOWN_FILES)}") from None


# --------------------------------------------------------------------------------------------------------------
# Google Drive confirmation page


class _FormParser(HTMLParser):
    """Collect the ``download-form`` (action + hidden inputs) and every ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self.hrefs: list[str] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and (a.get("id") == "download-form" or "download" in a.get("action", "")):
            self.action, self._in_form, self.fields = a.get("action", ""), True, []
        elif tag == "input" and self._in_form and a.get("name") and a.get("type", "hidden") == "hidden":
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


_CONFIRM = re.compile(r"""[?&](?:amp;)?confirm=([0-9A-Za-z_-]+)""")


def google_drive_confirm_url(url: str, page: str, cookies: Mapping[str, str] | None = None) -> str | None:
    """Return the URL of the file behind a Google Drive confirmation page, or None if the page has none."""
    # Three generations of the page: a `download-form` with hidden inputs (2024-), a link carrying
    # `confirm=<token>` (-2023), and only a `download_warning*` cookie holding the token (oldest).
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    if parser.action is not None and parser.fields:
        action = urllib.parse.urljoin(url, parser.action)
        return f"{action}{'&' if '?' in action else '?'}{urllib.parse.urlencode(parser.fields)}"
    for href in parser.hrefs:
        if _CONFIRM.search(href):
            return urllib.parse.urljoin(url, href)
    match = _CONFIRM.search(html.unescape(page))  # a confirm link inside script text rather than an <a>
    if match:
        return _with_query(url, confirm=match.group(1))
    for name, value in (cookies or {}).items():
        if name.startswith("download_warning"):
            return _with_query(url, confirm=value)
    return None


def _with_query(url: str, **params: str) -> str:
    """Return ``url`` with these query parameters set (replacing existing ones)."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _response_cookies(headers: Any) -> dict[str, str]:
    """Return the cookies a response sets, by name."""
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        try:
            jar.load(header)
        except http.cookies.CookieError:
            continue  # one malformed cookie must not hide the others
    return {name: morsel.value for name, morsel in jar.items()}


def _html_problem(page: str) -> str:
    """Say why an HTML page came back instead of the file, as well as the page lets us tell."""
    text = page.lower()
    if "quota" in text or "too many users" in text:
        return "Google Drive says the file's download quota is exceeded (too many downloads in 24 h); try later"
    if "sign in" in text or "accounts.google.com" in text:
        return "Google Drive asks to sign in: the file is not public (or the link changed)"
    title = re.search(r"<title>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    return f"the server sent an HTML page ({(title.group(1).strip() if title else page[:80])!r}) instead of the file"


# --------------------------------------------------------------------------------------------------------------
# Streaming download


class _Digests:
    """SHA-256 and MD5 of the bytes seen so far (MD5 only because the official names embed its digits)."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)

    def feed_file(self, path: Path) -> None:
        with open(path, "rb") as fh:
            while block := fh.read(CHUNK):
                self.update(block)


@dataclass(frozen=True)
class _Target:
    """What one download must produce and how it is checked."""

    urls: tuple[str, ...]
    filename: str
    size: int | None
    sha256: str | None
    md5_suffix: str | None
    known: KnownFile | None


class _Interrupted(Exception):
    """The transfer stopped early; the ``.part`` file keeps what arrived and can be resumed."""


class _Restart(Exception):
    """The ``.part`` file cannot be continued (server ignored or mis-answered the range): start from byte 0."""


class _Unreachable(Exception):
    """No connection could be made (DNS, refused, timeout, TLS): the next URL may still work."""


class _Progress:
    """A byte progress bar created on the first response (when the total is known)."""

    def __init__(self, desc: str, enabled: bool) -> None:
        self.desc, self.enabled = desc, enabled
        self.bar: Any = None

    def start(self, total: int | None, initial: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(desc=self.desc, unit="B", unit_scale=True, unit_divisor=1024, dynamic_ncols=True)
        self.bar.reset(total=total)
        self.bar.update(initial)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _default_opener() -> urllib.request.OpenerDirector:
    """Return an opener with a cookie jar (Drive's confirmation may need its cookies) and the usual proxies."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor())


def _resolve(source: str | KnownFile, filename: str | None, size: int | None, sha256: str | None) -> _Target:
    """Turn a registry name, a KnownFile or a URL into a :class:`_Target`; explicit checks win."""
    if isinstance(source, str) and "://" not in source:
        source = known_file(source)
    if isinstance(source, KnownFile):
        return _Target(
            source.urls,
            filename or source.filename,
            size if size is not None else source.size,
            (sha256 or source.sha256 or "").lower() or None,
            source.md5_suffix,
            source,
        )
    name = filename or Path(urllib.parse.unquote(urllib.parse.urlsplit(source).path)).name
    if not name or "." not in name or urllib.parse.urlsplit(source).hostname in _DRIVE_HOSTS:
        raise ValueError(f"cannot tell the file name from {source}; pass filename=")
    return _Target((source,), name, size, (sha256 or "").lower() or None, None, None)


def _manual_hint(target: _Target, dest: Path) -> str:
    """Say how to get and convert the file by hand."""
    where = target.known.page if target.known else target.urls[0]
    listed = f" (listed at {target.known.listed_at})" if target.known else ""
    kind = target.known.kind if target.known else "nats|nb201"
    return (
        f"You can download {target.filename} manually from {where}{listed}, save it as {dest / target.filename}, "
        f"and run `nb201 convert {kind} {dest / target.filename}`."
    )


def _check(target: _Target, digests: _Digests, what: str) -> None:
    """Raise :class:`VerificationError` naming expected and actual values if a known check fails."""
    if target.size is not None and digests.size != target.size:
        raise VerificationError(f"size mismatch for {what}: expected {target.size:,} bytes, got {digests.size:,} bytes")
    actual = digests.sha256.hexdigest()
    if target.sha256 is not None and actual != target.sha256:
        raise VerificationError(f"SHA-256 mismatch for {what}: expected {target.sha256}, got {actual}")
    md5 = digests.md5.hexdigest()
    if target.md5_suffix is not None and not md5.endswith(target.md5_suffix):
        raise VerificationError(
            f"MD5 mismatch for {what}: the official name says the MD5 ends in {target.md5_suffix}, got {md5}"
        )
    known = target.known
    if known is not None and known.reported_sha256 and target.sha256 is None and actual != known.reported_sha256:
        log.warning("%s: SHA-256 %s differs from the third-party value %s", what, actual, known.reported_sha256)
    if known is not None and known.reported_size and target.size is None and digests.size != known.reported_size:
        log.warning("%s: %d bytes differ from the third-party value %d", what, digests.size, known.reported_size)
    log.info("%s verified: %d bytes, SHA-256 %s, MD5 %s", what, digests.size, actual, md5)


def _has_checks(target: _Target) -> bool:
    return target.size is not None or target.sha256 is not None or target.md5_suffix is not None


def download(
    name_or_url: str | KnownFile,
    dest_dir: str | os.PathLike[str] | None = None,
    *,
    sha256: str | None = None,
    size: int | None = None,
    filename: str | None = None,
    progress: bool = True,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> Path:
    """Download a registry file or a URL into ``dest_dir``, resuming and verifying it; return its path."""
    # sha256/size override or add to the registry's checks; `opener` replaces urllib's (tests, proxies); `timeout`
    # bounds every connect and read; a dropped connection is resumed up to `retries` times. A failed check raises
    # VerificationError (and deletes the .part); no working URL raises DownloadError with manual instructions.
    target = _resolve(name_or_url, filename, size, sha256)
    dest = Path(dest_dir) if dest_dir is not None else default_download_dir()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / target.filename
    part = dest / f"{target.filename}.part"
    if final.is_file():
        if _verified_existing(final, target):
            return final
        log.warning("%s exists but fails verification; downloading it again", final)
    opener = opener or _default_opener()
    bar = _Progress(target.filename, progress)
    try:
        digests = _fetch_any(target, part, dest, opener, timeout, retries, bar)
    finally:
        bar.close()
    try:
        _check(target, digests, target.filename)
    except VerificationError as exc:
        part.unlink(missing_ok=True)  # a wrong file must not be resumed next time
        raise VerificationError(f"{exc}; deleted the partial download {part.name}") from None
    os.replace(part, final)  # atomic: `final` only ever holds a verified file
    log.info("saved %s", final)
    return final


def _verified_existing(path: Path, target: _Target) -> bool:
    """Return True if an existing file passes every known check (hashing it only if the size allows)."""
    if not _has_checks(target):
        log.info("%s already exists; no size or checksum known to check it against, keeping it", path)
        return True
    if target.size is not None and path.stat().st_size != target.size:
        return False
    if target.sha256 is None and target.md5_suffix is None:
        log.info("%s already exists with the expected size; not downloading it again", path)
        return True
    digests = _Digests()
    digests.feed_file(path)
    try:
        _check(target, digests, str(path))
    except VerificationError as exc:
        log.warning("%s", exc)
        return False
    log.info("%s already exists and is verified; not downloading it again", path)
    return True


def _fetch_any(
    target: _Target,
    part: Path,
    dest: Path,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    retries: int,
    bar: _Progress,
) -> _Digests:
    """Fetch ``part`` completely from the first URL that works; return its digests."""
    if target.size is not None and part.is_file() and part.stat().st_size == target.size:
        log.info("%s is already complete; verifying it", part)  # e.g. a run killed between download and rename
        digests = _Digests()
        digests.feed_file(part)
        return digests
    failures: list[str] = []
    unreachable = 0
    for url in target.urls:
        try:
            return _fetch(url, target, part, opener, timeout, retries, bar)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the error response's socket
            failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except _Unreachable as exc:
            unreachable += 1
            failures.append(f"{url}: {exc}")
        except _Interrupted as exc:
            have = part.stat().st_size if part.is_file() else 0
            raise DownloadError(
                f"the download of {target.filename} from {url} kept failing ({exc}); {have:,} bytes are kept in "
                f"{part} and the next run resumes from there. {_manual_hint(target, dest)}"
            ) from None
        except VerificationError as exc:
            part.unlink(missing_ok=True)  # the server has a different file: nothing here is worth resuming
            raise VerificationError(f"{exc}; deleted the partial download {part.name}") from None
        except DownloadError as exc:
            failures.append(f"{url}: {exc}")
    detail = "; ".join(failures)
    if unreachable == len(target.urls):
        raise DownloadError(
            f"cannot reach the server for {target.filename} ({detail}). This machine seems to have no internet "
            f"access (or a proxy/firewall blocks it). {_manual_hint(target, dest)}"
        )
    raise DownloadError(f"cannot download {target.filename}: {detail}. {_manual_hint(target, dest)}")


def _fetch(
    url: str,
    target: _Target,
    part: Path,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    retries: int,
    bar: _Progress,
) -> _Digests:
    """Fetch ``part`` from one URL, resuming after dropped connections; return its digests."""
    attempt = 0
    while True:
        offset = part.stat().st_size if part.is_file() else 0
        if target.size is not None and offset > target.size:
            log.warning("%s is larger than the whole file (%d > %d bytes); starting over", part, offset, target.size)
            part.unlink()
            offset = 0
        try:
            return _transfer(url, target, part, offset, opener, timeout, bar)
        except _Restart as exc:
            log.warning("%s; restarting %s from byte 0", exc, target.filename)
            part.unlink(missing_ok=True)
        except _Interrupted as exc:
            if attempt >= retries:
                raise
            log.warning("%s; resuming (attempt %d of %d)", exc, attempt + 1, retries)
        attempt += 1
        if attempt > retries + 1:  # restarts count too, so a server that always mis-answers cannot loop forever
            raise DownloadError(f"{url} keeps answering range requests inconsistently")


def _open(
    url: str, offset: int, opener: urllib.request.OpenerDirector, timeout: float, cookies: Mapping[str, str]
) -> Any:
    """Send one GET (ranged when resuming); raise ``HTTPError`` as is and connection failures as _Unreachable."""
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
        raise _Unreachable(f"{urllib.parse.urlsplit(url).hostname}: {exc.reason}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Unreachable(f"{urllib.parse.urlsplit(url).hostname}: {exc!r}") from None


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _transfer(
    url: str,
    target: _Target,
    part: Path,
    offset: int,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    bar: _Progress,
) -> _Digests:
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
                return _range_not_satisfiable(exc, target, part, offset)
            raise
        with response:
            content_type = response.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() == "text/html":
                page = response.read(_MAX_HTML).decode("utf-8", "replace")
                cookies.update(_response_cookies(response.headers))
                next_url = google_drive_confirm_url(response.geturl(), page, cookies)
                if next_url is None:
                    raise DownloadError(_html_problem(page))
                log.info("%s: following the download confirmation page to %s", target.filename, next_url)
                url = next_url
                continue
            return _stream(response, url, target, part, offset, bar)
    raise DownloadError(f"{url}: still a confirmation page after {_MAX_HOPS} hops")


def _range_not_satisfiable(exc: urllib.error.HTTPError, target: _Target, part: Path, offset: int) -> _Digests:
    """Handle 416 to a resume request: the ``.part`` is either already complete or longer than the file."""
    match = re.search(r"/(\d+)", exc.headers.get("Content-Range", "") if exc.headers else "")
    if match and int(match.group(1)) == offset:
        digests = _Digests()
        digests.feed_file(part)
        return digests
    raise _Restart(f"the server cannot serve {part.name} from byte {offset} (HTTP 416)")


def _stream(response: Any, url: str, target: _Target, part: Path, offset: int, bar: _Progress) -> _Digests:
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
    digests = _Digests()
    if offset:
        digests.feed_file(part)  # resume the hash from the bytes already on disk
    bar.start(total, offset)
    with open(part, "ab" if offset else "wb") as fh:
        try:
            received = _copy(response, fh, digests, bar, target.size, target.filename)
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise _Interrupted(f"connection lost after {digests.size:,} bytes ({exc!r})") from None
        finally:
            fh.flush()
            os.fsync(fh.fileno())  # the bytes a resume relies on must really be on disk
    if length is not None and received < length:
        raise _Interrupted(f"connection closed after {digests.size:,} of {offset + length:,} bytes")
    return digests


def _copy(response: Any, fh: BinaryIO, digests: _Digests, bar: _Progress, limit: int | None, what: str) -> int:
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


# --------------------------------------------------------------------------------------------------------------
# Download + convert


def _converter(kind: Kind) -> Callable[..., Path]:
    """Return the importer for a kind (imported lazily: the importers pull in numpy-heavy modules)."""
    if kind == "nats":
        from nb201_env.importers.nats import convert_nats

        return convert_nats
    from nb201_env.importers.nb201_pth import convert_nb201_pth

    return convert_nb201_pth


def fetch_and_convert(
    name: str | KnownFile,
    dest_dir: str | os.PathLike[str] | None = None,
    out_store: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    sha256: str | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download a known file into ``dest_dir`` and convert it into ``out_store``; return the store's path."""
    # dest_dir defaults to default_download_dir(), out_store to default_store_path().
    entry = known_file(name) if isinstance(name, str) else name
    out = Path(out_store) if out_store is not None else default_store_path()
    if out.exists() and not overwrite:
        # checked here too: finding out after a 5 GB download would be a waste
        raise FileExistsError(f"{out} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    path = download(entry, dest_dir, sha256=sha256, progress=progress, opener=opener, timeout=timeout)
    update, close = _arch_progress(f"convert {entry.filename}", progress)
    try:
        store = _converter(entry.kind)(path, out, overwrite=overwrite, progress=update)
    finally:
        close()
    log.info("converted %s into %s", path, store)
    return store


def _arch_progress(desc: str, enabled: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """Return a (callback(done, total), close) pair driving a tqdm bar, or (None, no-op) when disabled."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="arch", dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def describe_known_files(entries: Iterable[KnownFile] | None = None) -> str:
    """Return a short multi-line listing of the known files (for a CLI ``--list``)."""
    lines = []
    for f in entries if entries is not None else KNOWN_FILES.values():
        size = f"{f.size / 1e9:.2f} GB" if f.size else "size unknown"
        lines.append(f"{f.name:<16} {f.filename:<34} {size:<13} {f.description}")
    return "\n".join(lines)
