"""Find the real file behind Google Drive links and its "can't scan for viruses" confirmation pages.

Google Drive, where the authors host the benchmark files, answers large files with an HTML page instead of the
bytes: :func:`google_drive_confirm_url` turns that page (or its ``download_warning`` cookie) into the URL of
the real download.
"""

from __future__ import annotations

import html
import http.cookies
import re
import urllib.parse
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
_CONFIRM = re.compile(r"""[?&](?:amp;)?confirm=([0-9A-Za-z_-]+)""")


def drive_file_url(file_id: str) -> str:
    """Return the direct-download URL of a public Google Drive file (skips the virus-scan page if it can)."""
    # ``confirm=t`` is what Drive's own "Download anyway" form submits since 2024; the older ``uc`` endpoint
    # below stays as a fallback because it still answers with the classic confirmation page.
    return f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"


def drive_uc_url(file_id: str) -> str:
    """Return the classic ``uc?export=download`` URL of a Google Drive file."""
    return f"https://drive.google.com/uc?export=download&id={file_id}"


def drive_urls(file_id: str) -> tuple[str, ...]:
    """Return the URLs to try, in order, for a public Google Drive file."""
    return (drive_file_url(file_id), drive_uc_url(file_id))


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


def response_cookies(headers: Any) -> dict[str, str]:
    """Return the cookies a response sets, by name."""
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        try:
            jar.load(header)
        except http.cookies.CookieError:
            continue  # one malformed cookie must not hide the others
    return {name: morsel.value for name, morsel in jar.items()}


def html_problem(page: str) -> str:
    """Say why an HTML page came back instead of the file, as well as the page lets us tell."""
    text = page.lower()
    if "quota" in text or "too many users" in text:
        return "Google Drive says the file's download quota is exceeded (too many downloads in 24 h); try later"
    if "sign in" in text or "accounts.google.com" in text:
        return "Google Drive asks to sign in: the file is not public (or the link changed)"
    title = re.search(r"<title>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    return f"the server sent an HTML page ({(title.group(1).strip() if title else page[:80])!r}) instead of the file"
