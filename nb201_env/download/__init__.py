"""Download the official NB201 / NATS-Bench topology files, verify them and convert them into a store.

:func:`download` streams a file to ``<name>.part`` with HTTP ``Range`` requests (so an interrupted transfer
resumes where it stopped, also across runs), hashes it while it arrives (SHA-256, plus MD5 for the official
files whose names end in MD5 digits), and renames it into place only once every known check passed.
:func:`fetch_and_convert` downloads a :data:`KNOWN_FILES` entry and converts it with the matching importer.

Only the standard library (``urllib``) and tqdm are used. Google Drive, where the authors host the files, answers
large files with an HTML "can't scan for viruses" page instead of the bytes: :func:`google_drive_confirm_url`
turns that page (or its ``download_warning`` cookie) into the URL of the real download.
"""

from nb201_env.download.convert import fetch_and_convert
from nb201_env.download.errors import DownloadError, VerificationError
from nb201_env.download.fetch import DEFAULT_RETRIES, DEFAULT_TIMEOUT, default_download_dir, download
from nb201_env.download.google_drive import drive_file_url, drive_uc_url, google_drive_confirm_url
from nb201_env.download.known_files import KNOWN_FILES, Kind, KnownFile, describe_known_files, known_file
from nb201_env.download.verify import CHUNK

__all__ = [
    "CHUNK",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "KNOWN_FILES",
    "DownloadError",
    "Kind",
    "KnownFile",
    "VerificationError",
    "default_download_dir",
    "describe_known_files",
    "download",
    "drive_file_url",
    "drive_uc_url",
    "fetch_and_convert",
    "google_drive_confirm_url",
    "known_file",
]
