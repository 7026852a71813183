"""Documents sent to POST /v1/ingest: checked in memory, then kept in data/uploads and indexed.

An upload carries a file name, never a path on the server: only the name's last part is kept,
stripped to letters, digits and `._- `, so `../../x.md` is stored as data/uploads/x.md and
nothing is ever written outside that folder. Every file of a request is parsed before any is
written, so one corrupt document refuses the whole request and the index stays as it was.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .documents import SkipFile, file_hash, parse_bytes
from .errors import UserError
from .ingest import UPLOADS_PREFIX, IngestSummary

# Characters a stored file name keeps; anything else becomes "_".
UNSAFE_CHARACTERS = re.compile(r"[^\w.\- ]")
# Some file systems refuse longer names.
MAX_NAME_CHARS = 200


class UploadError(UserError):
    """An uploaded file cannot be indexed; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name its client gave and its bytes."""

    filename: str
    data: bytes


@dataclass
class UploadOutcome:
    """What an upload changed: counted per document, named as the index names them."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def documents(self) -> list[str]:
        return [*self.added, *self.updated, *self.unchanged]


def stored_name(filename: str) -> str:
    """The file name an upload is kept under: the client's name without any folder in it."""
    # Both separators: a Windows client sends C:\\docs\\guide.md.
    base = re.split(r"[\\/]", filename)[-1].strip()
    # A leading dot would hide the file from ingest (and `..` is no name).
    name = UNSAFE_CHARACTERS.sub("_", base).lstrip(".")[:MAX_NAME_CHARS]
    if not Path(name).stem:
        raise UploadError(
            f"the uploaded file {filename!r} has no usable name: send it with a file name "
            "such as guide.md (its suffix says how to read it)."
        )
    return name


def check(uploads: Sequence[Upload], max_file_bytes: int) -> dict[str, Upload]:
    """Name and parse every upload in memory; the first one that cannot be indexed is an error."""
    if not uploads:
        raise UploadError("no files were uploaded: send one or more in the form field `files`.")
    named: dict[str, Upload] = {}
    for upload in uploads:
        name = stored_name(upload.filename)
        if name in named:
            raise UploadError(
                f"two uploaded files are both named {name!r} once stored: rename one of them."
            )
        if len(upload.data) > max_file_bytes:
            raise UploadError(
                f"{upload.filename}: {len(upload.data):,} bytes, more than ingest.max_file_bytes "
                f"({max_file_bytes:,}): split the document or raise the setting.",
                status=413,
            )
        try:
            parse_bytes(upload.data, name)
        except SkipFile as skipped:
            raise UploadError(f"{upload.filename}: {skipped.reason}.") from None
        named[name] = upload
    return named


def store_files(
    named: dict[str, Upload], folder: Path, indexed: dict[str, str]
) -> tuple[UploadOutcome, dict[Path, bytes | None]]:
    """Write the uploads into `folder`; return the outcome and what each file held before.

    `indexed` is the index's source -> file hash, which says whether an upload is new, changed
    or the same bytes again. The previous contents (None: no file) let a failed ingest undo this.
    """
    folder.mkdir(parents=True, exist_ok=True)
    outcome = UploadOutcome()
    previous: dict[Path, bytes | None] = {}
    for name, upload in named.items():
        source = UPLOADS_PREFIX + name
        known = indexed.get(source)
        if known == file_hash(upload.data):
            outcome.unchanged.append(source)
        elif known is None:
            outcome.added.append(source)
        else:
            outcome.updated.append(source)
        path = folder / name
        previous[path] = path.read_bytes() if path.is_file() else None
        partial = path.with_name(f".{name}.partial")
        partial.write_bytes(upload.data)
        # A rename is atomic: an ingest running now reads the old file or the new one.
        partial.replace(path)
    return outcome, previous


def restore(previous: dict[Path, bytes | None]) -> None:
    """Put the upload folder back as it was before `store_files`."""
    for path, data in previous.items():
        if data is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(data)


def skipped_uploads(summary: IngestSummary) -> list[dict[str, str]]:
    """The uploaded files the ingest skipped (a duplicate of another file, say), with why."""
    return [row for row in summary.skipped if row["source"].startswith(UPLOADS_PREFIX)]
