"""Drop each message as ``{uuid}.eml`` into a directory that another program picks up.

Like System.Net.Mail's SpecifiedPickupDirectory, the file starts with ``X-Sender`` and
``X-Receiver`` lines carrying the envelope (IIS and other pickup services read them, and they
are the only place Bcc recipients survive). Pass ``envelope_headers=False`` for the bare message.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from postroom.mailsettings.model import SmtpSettings

from .base import DeliveryError, OutgoingMessage, SendResult, Transport
from .lines import to_crlf

SETTING = "Umbraco:CMS:Global:Smtp:PickupDirectoryLocation"


class PickupDirectoryTransport(Transport):
    def __init__(self, directory: str | os.PathLike[str], *, envelope_headers: bool = True) -> None:
        self.directory = Path(directory)
        self.envelope_headers = envelope_headers
        self.description = f"pickup directory {self.directory}"

    @classmethod
    def from_settings(cls, settings: SmtpSettings) -> PickupDirectoryTransport:
        return cls(settings.pickup_directory.value or "")

    def __repr__(self) -> str:
        return f"<PickupDirectoryTransport {self.directory}>"

    def open(self) -> None:
        self._check_directory()

    def close(self) -> None:
        pass

    def send(
        self,
        message: OutgoingMessage,
        before_content: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,  # each message is its own file: nothing ahead
    ) -> SendResult:
        self._check_directory()
        data = self._envelope(message) + to_crlf(message.raw)
        if before_content is not None:
            before_content()
        name = uuid.uuid4().hex
        final = self.directory / f"{name}.eml"
        # Pickup services watch for *.eml: the temporary name must not match until it is whole.
        temporary = self.directory / f".{name}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, final)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise DeliveryError(
                f"Could not write {final}: {exc.strerror or exc}. Check free space and that "
                f"this process may write to {self.directory}.",
                step="write",
                transient=False,
            ) from exc
        return SendResult(f"Written to {final}", accepted=tuple(message.recipients))

    def _check_directory(self) -> None:
        where = self.directory
        problem = None
        if not str(where):
            problem = "No pickup directory is set"
        elif not where.exists():
            problem = f"The pickup directory {where} does not exist"
        elif not where.is_dir():
            problem = f"The pickup directory {where} is not a directory"
        elif not os.access(where, os.W_OK | os.X_OK):
            problem = f"The pickup directory {where} is not writable by this process"
        if problem:
            raise DeliveryError(
                f"{problem}. Create it (writable by the user running Postroom) or fix {SETTING}.",
                step="write",
                transient=False,
            )

    def _envelope(self, message: OutgoingMessage) -> bytes:
        if not self.envelope_headers:
            return b""
        lines = [f"X-Sender: {message.sender}"]
        lines += [f"X-Receiver: {recipient}" for recipient in message.recipients]
        if any("\r" in line or "\n" in line for line in lines):
            raise DeliveryError(
                "An envelope address contains a line break; refusing to write it into a header. "
                "Check the sender and recipient addresses.",
                step="write",
                transient=False,
            )
        return "".join(f"{line}\r\n" for line in lines).encode("utf-8")
