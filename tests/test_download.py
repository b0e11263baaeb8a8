"""The downloader against a local HTTP server: resume, range quirks, checksums, errors, Google Drive pages."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nb201_env import download as dl
from nb201_env.download import (
    KNOWN_FILES,
    DownloadError,
    KnownFile,
    VerificationError,
    download,
    fetch_and_convert,
    google_drive_confirm_url,
)
from nb201_env.store import Store
from nb201_env.testing import official_files as fixtures

Route = Callable[["_Handler", dict[str, Any]], None]
TAR_INDICES = [7, 4242]


class _Handler(BaseHTTPRequestHandler):
    """Dispatch GETs to the server's routes and log every request (path, query, Range, Cookie, bytes sent)."""

    server: _Server

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        entry: dict[str, Any] = {
            "path": parts.path,
            "query": dict(urllib.parse.parse_qsl(parts.query)),
            "range": self.headers.get("Range"),
            "cookie": self.headers.get("Cookie") or "",
            "status": None,
            "sent": 0,
        }
        self.server.log.append(entry)
        route = self.server.routes.get(parts.path)
        if route is None:
            entry["status"] = 404
            self.send_error(404, "no such file")
            return
        route(self, entry)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.log: list[dict[str, Any]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def requests(self, path: str) -> list[dict[str, Any]]:
        return [e for e in self.log if e["path"] == path]


def file_route(
    data: bytes,
    *,
    honor_range: bool = True,
    drop_first_after: int | None = None,
    content_length: bool = True,
    content_type: str = "application/x-tar",
) -> Route:
    """Serve ``data`` with optional Range support; the first response can stop after some bytes (a dropped link)."""
    calls = [0]

    def route(h: _Handler, entry: dict[str, Any]) -> None:
        calls[0] += 1
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", h.headers.get("Range") or "")
        if match and honor_range:
            start = int(match.group(1))
            if start >= len(data):
                entry["status"] = 416
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            entry["status"] = 206
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            entry["status"] = 200
            h.send_response(200)
        body = data[start:]
        h.send_header("Content-Type", content_type)
        if content_length:
            h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes" if honor_range else "none")
        h.end_headers()
        if drop_first_after is not None and calls[0] == 1:
            body = body[:drop_first_after]  # then the connection closes (HTTP/1.0): fewer bytes than announced
        h.wfile.write(body)
        entry["sent"] = len(body)

    return route


def html_route(page: str, cookies: dict[str, str] | None = None) -> Route:
    """Serve an HTML page (a Google Drive interstitial), optionally setting cookies."""

    def route(h: _Handler, entry: dict[str, Any]) -> None:
        body = page.encode()
        entry["status"] = 200
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in (cookies or {}).items():
            h.send_header("Set-Cookie", f"{name}={value}; Path=/; HttpOnly")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return route


@pytest.fixture(scope="module")
def tar_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real small NATS ``-simple`` tar (two archs) in the official layout."""
    path = tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-simple.tar"
    fixtures.write_nats_tar(path, TAR_INDICES, np.random.default_rng(0), compresslevel=1)
    return path.read_bytes()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture
def opener() -> urllib.request.OpenerDirector:
    """An opener that never goes through a proxy from the environment (the server is on 127.0.0.1)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get(url: str, dest: Path, opener: urllib.request.OpenerDirector, **kwargs: Any) -> Path:
    """Call :func:`download` quietly with the test opener and short timeouts."""
    kwargs.setdefault("timeout", 5.0)
    return download(url, dest, progress=False, opener=opener, **kwargs)


def closed_port_url(path: str = "/x.tar") -> str:
    """Return a URL on a local port nobody listens on (connection refused at once, no DNS, no internet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# ----------------------------------------------------------------------------------------------------------------
# full download + conversion


def test_fetch_and_convert_downloads_verifies_and_converts(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    server.routes["/NATS-tss-v1_0-3ffb9-simple.tar"] = file_route(tar_bytes)
    entry = replace(
        KNOWN_FILES["nats-tss-simple"],
        urls=(server.url("/NATS-tss-v1_0-3ffb9-simple.tar"),),
        size=len(tar_bytes),
        sha256=sha(tar_bytes),
    )
    store_path = fetch_and_convert(entry, tmp_path / "dl", tmp_path / "out.store", progress=False, opener=opener)
    assert (tmp_path / "dl" / entry.filename).read_bytes() == tar_bytes
    assert not (tmp_path / "dl" / f"{entry.filename}.part").exists()
    store = Store(store_path)
    assert store.manifest.extra["source_name"] == entry.filename
    assert store.manifest.name == "nats-tss"

    # running again refuses the existing store before sending any request
    with pytest.raises(FileExistsError, match="overwrite"):
        fetch_and_convert(entry, tmp_path / "dl", tmp_path / "out.store", progress=False, opener=opener)
    assert len(server.log) == 1


def test_fetch_and_convert_refuses_an_existing_store_before_downloading(
    server: _Server, opener: urllib.request.OpenerDirector, tmp_path: Path
) -> None:
    (tmp_path / "out.store").mkdir()
    entry = replace(KNOWN_FILES["nb201-v1_1"], urls=(server.url("/big.pth"),))
    with pytest.raises(FileExistsError, match="already exists"):
        fetch_and_convert(entry, tmp_path / "dl", tmp_path / "out.store", progress=False, opener=opener)
    assert server.log == []


# ----------------------------------------------------------------------------------------------------------------
# resuming


def test_dropped_connection_resumes_with_a_range_request(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    cut = len(tar_bytes) // 3
    server.routes["/f.tar"] = file_route(tar_bytes, drop_first_after=cut)
    path = get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes), size=len(tar_bytes))
    assert path.read_bytes() == tar_bytes
    first, second = server.requests("/f.tar")
    assert first["range"] is None and first["sent"] == cut
    assert second["range"] == f"bytes={cut}-" and second["status"] == 206
    assert second["sent"] == len(tar_bytes) - cut  # only the missing bytes travelled again


def test_interrupted_download_keeps_the_part_and_the_next_run_resumes(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    cut = 10_000
    server.routes["/f.tar"] = file_route(tar_bytes, drop_first_after=cut)
    with pytest.raises(DownloadError, match="resumes from there") as info:
        get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes), retries=0)
    assert "nb201 convert" in str(info.value)
    assert (tmp_path / "f.tar.part").stat().st_size == cut
    assert not (tmp_path / "f.tar").exists()

    path = get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes
    assert server.requests("/f.tar")[-1]["range"] == f"bytes={cut}-"


def test_existing_part_is_resumed_and_hashed_from_disk(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    cut = len(tar_bytes) - 12_345
    (tmp_path / "f.tar.part").write_bytes(tar_bytes[:cut])
    server.routes["/f.tar"] = file_route(tar_bytes)
    path = get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes), size=len(tar_bytes))
    assert path.read_bytes() == tar_bytes
    (only,) = server.log
    assert only["range"] == f"bytes={cut}-" and only["sent"] == 12_345


def test_server_ignoring_range_restarts_cleanly(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    (tmp_path / "f.tar.part").write_bytes(b"\xff" * 5000)  # wrong bytes: appending to them would corrupt the file
    server.routes["/f.tar"] = file_route(tar_bytes, honor_range=False)
    path = get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes
    (only,) = server.log
    assert only["range"] == "bytes=5000-" and only["status"] == 200


def test_inconsistent_range_answer_restarts_from_zero(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    (tmp_path / "f.tar.part").write_bytes(tar_bytes[:3000])
    serve = file_route(tar_bytes)

    def wrong_range(h: _Handler, entry: dict[str, Any]) -> None:
        if entry["range"] is None:
            serve(h, entry)
            return
        entry["status"] = 206  # claims to resume but starts elsewhere: appending would corrupt the file
        body = tar_bytes[10:]
        h.send_response(206)
        h.send_header("Content-Range", f"bytes 10-{len(tar_bytes) - 1}/{len(tar_bytes)}")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    server.routes["/f.tar"] = wrong_range
    path = get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes
    assert [(e["range"], e["status"]) for e in server.log] == [("bytes=3000-", 206), (None, 200)]


def test_complete_part_is_finished_without_the_network(
    opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    (tmp_path / "f.tar.part").write_bytes(tar_bytes)
    path = get(closed_port_url("/f.tar"), tmp_path, opener, size=len(tar_bytes), sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes and not (tmp_path / "f.tar.part").exists()


def test_range_not_satisfiable_for_a_complete_part(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    (tmp_path / "f.tar.part").write_bytes(tar_bytes)  # size unknown to the caller: the server's 416 tells
    server.routes["/f.tar"] = file_route(tar_bytes)
    path = get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes
    assert [e["status"] for e in server.log] == [416]


# ----------------------------------------------------------------------------------------------------------------
# verification


def test_wrong_checksum_deletes_the_part_and_names_both_values(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    server.routes["/f.tar"] = file_route(tar_bytes)
    wrong = "0" * 64
    with pytest.raises(VerificationError) as info:
        get(server.url("/f.tar"), tmp_path, opener, sha256=wrong)
    message = str(info.value)
    assert wrong in message and sha(tar_bytes) in message
    assert list(tmp_path.iterdir()) == []


def test_md5_suffix_of_official_names_is_checked(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    server.routes["/f.pth"] = file_route(tar_bytes)
    md5 = hashlib.md5(tar_bytes).hexdigest()
    good = replace(KNOWN_FILES["nb201-v1_1"], urls=(server.url("/f.pth"),), reported_size=None, md5_suffix=md5[-6:])
    assert download(good, tmp_path / "a", progress=False, opener=opener).read_bytes() == tar_bytes
    bad = replace(good, md5_suffix="096897" if not md5.endswith("096897") else "000000")
    with pytest.raises(VerificationError, match=f"MD5 .*{md5}"):
        download(bad, tmp_path / "b", progress=False, opener=opener)
    assert list((tmp_path / "b").iterdir()) == []


@pytest.mark.parametrize("content_length", [True, False])
def test_size_mismatch(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path, content_length: bool
) -> None:
    server.routes["/f.tar"] = file_route(tar_bytes, content_length=content_length)
    expected = len(tar_bytes) - 1  # announced: refused from the header; unannounced: stopped once it overflows
    with pytest.raises(VerificationError, match=f"expected {expected:,} bytes"):
        get(server.url("/f.tar"), tmp_path, opener, size=expected)
    assert list(tmp_path.iterdir()) == []


def test_truncated_body_without_content_length_fails_the_size_check(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    server.routes["/f.tar"] = file_route(tar_bytes[:-100], content_length=False)
    with pytest.raises(VerificationError, match=f"expected {len(tar_bytes):,} bytes, got {len(tar_bytes) - 100:,}"):
        get(server.url("/f.tar"), tmp_path, opener, size=len(tar_bytes))
    assert list(tmp_path.iterdir()) == []


def test_existing_verified_file_is_not_fetched_again(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    server.routes["/f.tar"] = file_route(tar_bytes)
    get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes))
    get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes))
    assert len(server.log) == 1

    # same size, wrong content: fetched again and replaced
    (tmp_path / "f.tar").write_bytes(bytes(len(tar_bytes)))
    assert get(server.url("/f.tar"), tmp_path, opener, sha256=sha(tar_bytes)).read_bytes() == tar_bytes
    assert len(server.log) == 2


# ----------------------------------------------------------------------------------------------------------------
# errors


def test_http_404_is_a_clear_error(server: _Server, opener: urllib.request.OpenerDirector, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        get(server.url("/missing.tar"), tmp_path, opener)
    assert "manually" in str(info.value) and server.url("/missing.tar") in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_host_says_how_to_download_manually(opener: urllib.request.OpenerDirector, tmp_path: Path) -> None:
    entry = replace(KNOWN_FILES["nats-tss-simple"], urls=(closed_port_url(), closed_port_url()))
    with pytest.raises(DownloadError) as info:
        download(entry, tmp_path, progress=False, opener=opener, timeout=2.0)
    message = str(info.value)
    assert "no internet" in message
    assert entry.page in message and entry.listed_at in message
    assert f"nb201 convert nats {tmp_path / entry.filename}" in message
    assert not (tmp_path / f"{entry.filename}.part").exists()


def test_a_silent_server_times_out(server: _Server, opener: urllib.request.OpenerDirector, tmp_path: Path) -> None:
    release = threading.Event()
    server.routes["/slow.tar"] = lambda h, entry: release.wait(5)
    try:
        with pytest.raises(DownloadError, match="timed out"):
            get(server.url("/slow.tar"), tmp_path, opener, timeout=0.3)
    finally:
        release.set()


def test_unknown_name_and_nameless_urls_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="nats-tss-simple"):
        download("nats-tss-bogus", tmp_path)
    with pytest.raises(ValueError, match="filename="):
        download("https://drive.google.com/uc?export=download&id=abc", tmp_path)


# ----------------------------------------------------------------------------------------------------------------
# Google Drive confirmation pages

_FORM_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="{action}" method="get">
<input type="submit" id="uc-download-link" class="goog-inline-block jfk-button" value="Download anyway"/>
<input type="hidden" name="id" value="FILEID"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="0a1b-2c3d">
</form></body></html>"""

_LINK_PAGE = """<html><head><title>Google Drive - Virus scan warning</title></head><body>
<a id="uc-download-link" href="/uc?export=download&amp;confirm=Xy_9-z&amp;id=FILEID">Download anyway</a>
</body></html>"""


def test_confirm_url_from_the_download_form() -> None:
    page = _FORM_PAGE.format(action="https://drive.usercontent.google.com/download")
    url = google_drive_confirm_url("https://drive.google.com/uc?export=download&id=FILEID", page)
    parts = urllib.parse.urlsplit(url or "")
    assert (parts.netloc, parts.path) == ("drive.usercontent.google.com", "/download")
    assert dict(urllib.parse.parse_qsl(parts.query)) == {
        "id": "FILEID",
        "export": "download",
        "confirm": "t",
        "uuid": "0a1b-2c3d",
    }


def test_confirm_url_from_a_link_and_from_a_cookie() -> None:
    base = "https://drive.google.com/uc?export=download&id=FILEID"
    assert google_drive_confirm_url(base, _LINK_PAGE) == (
        "https://drive.google.com/uc?export=download&confirm=Xy_9-z&id=FILEID"
    )
    cookie_only = google_drive_confirm_url(base, "<html>no link</html>", {"NID": "1", "download_warning_13_abc": "TOK"})
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(cookie_only or "").query)) == {
        "export": "download",
        "id": "FILEID",
        "confirm": "TOK",
    }
    assert google_drive_confirm_url(base, "<html><title>Quota exceeded</title></html>", {"NID": "1"}) is None


def test_drive_classic_interstitial_with_cookie(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    serve = file_route(tar_bytes)
    page = html_route(_LINK_PAGE, cookies={"download_warning_13_FILEID": "Xy_9-z"})

    def uc(h: _Handler, entry: dict[str, Any]) -> None:
        confirmed = entry["query"].get("confirm") == "Xy_9-z" and "download_warning_13_FILEID=Xy_9-z" in entry["cookie"]
        (serve if confirmed else page)(h, entry)

    server.routes["/uc"] = uc
    path = get(server.url("/uc?export=download&id=FILEID"), tmp_path, opener, filename="f.tar", sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes
    assert [e["status"] for e in server.log] == [200, 200] and server.log[1]["query"]["confirm"] == "Xy_9-z"


def test_drive_form_interstitial(
    server: _Server, opener: urllib.request.OpenerDirector, tar_bytes: bytes, tmp_path: Path
) -> None:
    server.routes["/uc"] = html_route(_FORM_PAGE.format(action=server.url("/download")))
    serve = file_route(tar_bytes, drop_first_after=20_000)

    def usercontent(h: _Handler, entry: dict[str, Any]) -> None:
        assert entry["query"] == {"id": "FILEID", "export": "download", "confirm": "t", "uuid": "0a1b-2c3d"}
        serve(h, entry)

    server.routes["/download"] = usercontent
    path = get(server.url("/uc?export=download&id=FILEID"), tmp_path, opener, filename="f.tar", sha256=sha(tar_bytes))
    assert path.read_bytes() == tar_bytes
    # the resume after the drop goes through the confirmation page again and asks only for the rest
    assert [e["path"] for e in server.log] == ["/uc", "/download", "/uc", "/download"]
    assert server.log[-1]["range"] == "bytes=20000-"


def test_drive_quota_page_is_a_clear_error(
    server: _Server, opener: urllib.request.OpenerDirector, tmp_path: Path
) -> None:
    server.routes["/uc"] = html_route(
        "<html><head><title>Google Drive - Quota exceeded</title></head><body>Too many users have viewed or "
        "downloaded this file recently.</body></html>"
    )
    with pytest.raises(DownloadError, match="quota") as info:
        get(server.url("/uc?id=FILEID"), tmp_path, opener, filename="f.tar")
    assert "manually" in str(info.value)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------------------------
# registry


def test_registry_entries_are_consistent() -> None:
    assert {"nats-tss-simple", "nats-tss", "nb201-v1_1"} <= set(KNOWN_FILES)
    assert KNOWN_FILES["nats-tss-simple"].size == 1_145_989_120
    for name, entry in KNOWN_FILES.items():
        assert isinstance(entry, KnownFile) and entry.name == name
        drive_id = re.search(r"/file/d/([^/]+)/view", entry.page).group(1)  # type: ignore[union-attr]
        assert all(drive_id in url for url in entry.urls) and entry.urls
        assert entry.kind in ("nats", "nb201")
        if entry.md5_suffix:
            assert entry.filename.split("-")[-1].split(".")[0] == entry.md5_suffix  # the name carries the digits
        with pytest.raises(AttributeError):
            entry.size = 1  # type: ignore[misc]
    assert dl.known_file("nb201-v1_1").filename == "NAS-Bench-201-v1_1-096897.pth"
    assert "nats-tss-simple" in dl.describe_known_files()
