"""A real TCP proxy for the network fault tests: added latency, and cuts of the connection.

It runs an asyncio loop on a daemon thread and forwards 127.0.0.1:listen_port to the target. The
controls are thread-safe and act at once:

- `latency(seconds)`: every chunk is held that long before it is forwarded (each direction, order kept);
- `cut("refuse")`: every open connection is reset and new ones are closed as soon as accepted, the way
  a peer that went away looks (librdkafka sees connection refused / reset and retries);
- `cut("blackhole")`: connections stay open but nothing is forwarded any more (a partition: packets
  are dropped, requests time out), new ones are accepted and hang;
- `restore()`: forward again (blackholed connections carry on; refused ones are opened anew).

The broker behind it must advertise the proxy's address (a listener whose advertised port is the
proxy's), or clients that bootstrap through the proxy learn the broker's own address from metadata
and bypass it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time

CHUNK = 64 * 1024


class Proxy:
    def __init__(self, listen_port: int, target_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.listen_port, self.target_port = host, listen_port, target_port
        self.delay = 0.0
        self.mode = "open"  # open | refuse | blackhole
        self.accepted = 0
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._resume = threading.Event()
        self._resume.set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)

    # ---- controls (any thread) -------------------------------------------------------------

    def start(self) -> Proxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        self._call(self._close_all(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def latency(self, seconds: float) -> None:
        self.delay = seconds

    def cut(self, mode: str = "refuse") -> None:
        assert mode in ("refuse", "blackhole"), mode
        self.mode = mode
        if mode == "blackhole":
            self._resume.clear()
            self._loop.call_soon_threadsafe(self._wake)
        else:
            self._call(self._reset_all())

    def restore(self) -> None:
        self.mode = "open"
        self._resume.set()
        self._loop.call_soon_threadsafe(self._wake)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.listen_port}"

    # ---- the loop --------------------------------------------------------------------------

    def _call(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(
            self._serve, self.host, self.listen_port, reuse_address=True
        )

    def _wake(self) -> None:
        (self._flowing.set if self._resume.is_set() else self._flowing.clear)()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "refuse":
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            _reset(writer)
            return
        pair = (writer, up_writer)
        self._conns.add(pair)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._conns.discard(pair)
            for w in pair:
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one direction; with latency, a sender task keeps order while chunks wait."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def send() -> None:
            while (item := await queue.get()) is not None:
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                await queue.put((time.monotonic() + self.delay, data))
            await queue.put(None)
            await sender
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            with contextlib.suppress(Exception):
                writer.close()

    async def _reset_all(self) -> None:
        for pair in list(self._conns):
            for w in pair:
                _reset(w)
        self._conns.clear()

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._reset_all()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed or unplugged peer looks, not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.transport.abort()
