"""Download a file from the first of its URLs that works, resuming and verifying it, and move it into place."""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from nb201_env.download.errors import DownloadError, VerificationError
from nb201_env.download.known_files import KnownFile
from nb201_env.download.progress import ByteProgress
from nb201_env.download.transfer import Interrupted, Unreachable, fetch_url, part_size
from nb201_env.download.verify import Digests, Target, check, resolve_target, verified_existing
from nb201_env.locate import default_store_path

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0  # seconds per connect and per read; Google Drive can take ~10 s to start a large file
DEFAULT_RETRIES = 3  # automatic resumes after a dropped connection within one call


def default_download_dir() -> Path:
    """Return where downloads go by default: a ``downloads`` folder beside the default store."""
    return default_store_path().parent / "downloads"


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
    target = resolve_target(name_or_url, filename, size, sha256)
    dest = Path(dest_dir) if dest_dir is not None else default_download_dir()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / target.filename
    part = dest / f"{target.filename}.part"
    if final.is_file():
        if verified_existing(final, target):
            return final
        log.warning("%s exists but fails verification; downloading it again", final)
    opener = opener or _default_opener()
    try:
        with ByteProgress(target.filename, progress) as bar:
            digests = _fetch_any(target, part, dest, opener, timeout, retries, bar)
        check(target, digests, target.filename)
    except VerificationError as exc:
        part.unlink(missing_ok=True)  # a wrong file must not be resumed next time
        raise VerificationError(f"{exc}; deleted the partial download {part.name}") from None
    os.replace(part, final)  # atomic: `final` only ever holds a verified file
    log.info("saved %s", final)
    return final


def _default_opener() -> urllib.request.OpenerDirector:
    """Return an opener with a cookie jar (Drive's confirmation may need its cookies) and the usual proxies."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor())


def _fetch_any(
    target: Target,
    part: Path,
    dest: Path,
    opener: urllib.request.OpenerDirector,
    timeout: float,
    retries: int,
    bar: ByteProgress,
) -> Digests:
    """Fetch ``part`` completely from the first URL that works; return its digests."""
    if target.size is not None and part.is_file() and part.stat().st_size == target.size:
        log.info("%s is already complete; verifying it", part)  # e.g. a run killed between download and rename
        return Digests.of_file(part)
    failures: list[str] = []
    unreachable = 0
    for url in target.urls:
        try:
            return fetch_url(url, target, part, opener, timeout, retries, bar)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the error response's socket
            failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except Unreachable as exc:
            unreachable += 1
            failures.append(f"{url}: {exc}")
        except Interrupted as exc:
            raise DownloadError(
                f"the download of {target.filename} from {url} kept failing ({exc}); {part_size(part):,} bytes are "
                f"kept in {part} and the next run resumes from there. {_manual_hint(target, dest)}"
            ) from None
        except VerificationError:
            raise  # the server has a different file: no other URL is tried, and the caller deletes the .part
        except DownloadError as exc:
            failures.append(f"{url}: {exc}")
    detail = "; ".join(failures)
    if unreachable == len(target.urls):
        raise DownloadError(
            f"cannot reach the server for {target.filename} ({detail}). This machine seems to have no internet "
            f"access (or a proxy/firewall blocks it). {_manual_hint(target, dest)}"
        )
    raise DownloadError(f"cannot download {target.filename}: {detail}. {_manual_hint(target, dest)}")


def _manual_hint(target: Target, dest: Path) -> str:
    """Say how to get and convert the file by hand."""
    where = target.known.page if target.known else target.urls[0]
    listed = f" (listed at {target.known.listed_at})" if target.known else ""
    kind = target.known.kind if target.known else "nats|nb201"
    return (
        f"You can download {target.filename} manually from {where}{listed}, save it as {dest / target.filename}, "
        f"and run `nb201 convert {kind} {dest / target.filename}`."
    )
