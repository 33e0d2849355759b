"""A TCP proxy on 127.0.0.1 that delays every byte by a fixed time each way: a far-away server.

    with DelayProxy(target_port, delay=0.025) as proxy:  # RTT 50 ms
        connect to 127.0.0.1:proxy.port

Each chunk read from one side is written to the other ``delay`` seconds after it arrived, in
order; bandwidth is not limited. The proxy runs an asyncio loop in its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType


class DelayProxy:
    def __init__(self, target_port: int, delay: float = 0.025, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.delay = delay
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        """Cancel every connection's tasks, so the loop closes without pending ones."""
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, self.host, 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        for stream in (writer, up_writer):
            sock = stream.get_extra_info("socket")
            if sock is not None:  # each chunk goes out as it is due, not held back by Nagle
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(asyncio.CancelledError):  # closing: end quietly
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy with a delay: a reader task stamps chunks, a writer task releases them on time."""
        chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            while True:
                data = await reader.read(65536)
                await chunks.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        async def write() -> None:
            while True:
                due, data = await chunks.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(Exception):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.gather(read(), write())
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                writer.close()
