"""Errors raised while downloading benchmark files."""

from __future__ import annotations


class DownloadError(OSError):
    """A file could not be downloaded (network, HTTP status, unexpected page); the message says what to do."""


class VerificationError(DownloadError):
    """A downloaded file does not have the expected size or checksum; the partial download was deleted."""
