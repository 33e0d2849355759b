"""Finding and reading configuration files: bounded in size, UTF-8 only, case-insensitive names.

Sites moved from Windows keep their file names (``Web.config``, ``Config\\smtp.config``), so a
name is matched case-insensitively when the exact one does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

from postroom.mailsettings.model import Problem

MAX_BYTES = 1024 * 1024


class FileProblem(Exception):
    """A configuration file exists but cannot be used; carries the Problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def find(directory: Path, relative: str) -> Path | None:
    """``directory/relative`` with each part matched case-insensitively; None when missing."""
    exact = directory / relative
    if exact.exists():
        return exact
    current = directory
    for part in Path(relative).parts:
        try:
            names = sorted(os.listdir(current))
        except OSError:
            return None
        matches = [name for name in names if name.lower() == part.lower()]
        if not matches:
            return None
        current = current / matches[0]
    return current


def read_text(path: Path, name: str) -> str:
    """The file's text, without a UTF-8 byte order mark; raises FileProblem when unusable."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise FileProblem(_too_big(name, size))
            data = handle.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise FileProblem(
            Problem(name, f"{name} is a directory, not a file.", hint=f"Remove or rename {path}.")
        ) from None
    except OSError as error:
        raise FileProblem(
            Problem(
                name,
                f"{name} cannot be read: {error.strerror or type(error).__name__}.",
                hint="Let the user Postroom runs as read the file (check its permissions).",
            )
        ) from None
    if len(data) > MAX_BYTES:  # grew while we read it
        raise FileProblem(_too_big(name, len(data)))
    return decode(data, name)


def decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(
            Problem(
                name,
                f"{name} is saved as UTF-16; Postroom reads UTF-8 only.",
                line=1,
                hint="Save the file with the encoding UTF-8 (in Visual Studio: File > Save As >"
                " Save with Encoding > Unicode (UTF-8)).",
            )
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FileProblem(
            Problem(
                name,
                f"{name} is not UTF-8: the byte 0x{data[error.start]:02x} on line {line} is not"
                " valid UTF-8.",
                line=line,
                hint="Save the file with the encoding UTF-8.",
            )
        ) from None


def _too_big(name: str, size: int) -> Problem:
    return Problem(
        name,
        f"{name} is {size / 1_000_000:.1f} MB; Postroom reads configuration files up to 1 MiB.",
        hint=f"Check that {name} is the right file; configuration files are a few kilobytes.",
    )
