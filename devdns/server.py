"""The devdns server: UDP and TCP on one loopback port, driven by a state file.

    python -m devdns.server --port 5353 --state var/devdns.json

asyncio serves every query independently, and added latency is a timer rather
than a sleeping worker, so a slow answer never holds up the others (the
verifier's throughput benchmark depends on that). The state file is re-read
whenever its identity (inode, size, mtime) changes, checked on every query, so
a record written by another process counts from the very next query.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import socket
import struct
import threading
from pathlib import Path
from typing import Self

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from devdns.authority import Authority
from devdns.store import Store

log = logging.getLogger("devdns")

DEFAULT_HOST = "127.0.0.1"
# Without EDNS a UDP answer may not exceed 512 bytes (RFC 1035).
CLASSIC_UDP_LIMIT = 512
# The reply that closes a TCP connection instead of answering (the hangup fault).
HANG_UP = b""


class _Engine:
    """Turns query bytes into reply bytes and a delay, from the current state."""

    def __init__(self, store: Store, own_address: str) -> None:
        self._store = store
        self._own_address = own_address
        self._signature: tuple[int, int, int] | None = None
        self._authority = Authority(store.load(), own_address)

    def _current(self) -> Authority:
        try:
            st = os.stat(self._store.path)
            signature = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            signature = None
        if signature != self._signature:
            try:
                self._authority = Authority(self._store.load(), self._own_address)
                self._signature = signature
            except (ValueError, KeyError, TypeError, dns.exception.DNSException):
                # A hand-edited file can be broken; keep answering from the last good state.
                log.exception(
                    "devdns: cannot load %s, keeping the previous state",
                    self._store.path,
                )
        return self._authority

    def handle(self, wire: bytes, *, over_udp: bool) -> tuple[bytes | None, float]:
        """The reply (None: stay silent; HANG_UP over TCP: close the connection) and how long to wait first."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None, 0.0  # not DNS; a real server would not answer either
        authority = self._current()
        qname = query.question[0].name if query.question else None
        fault = authority.fault_for(qname) if qname is not None else None
        delay = (authority.latency_ms + (fault.latency_ms if fault else 0)) / 1000
        if fault and fault.timeout:
            log.debug("devdns: dropping query for %s (timeout fault)", qname)
            return None, 0.0

        response = authority.respond(query)
        log.debug("devdns: %s %s", query.question[0] if qname else "?", response.rcode())
        if not over_udp:
            if fault and fault.hangup:
                return HANG_UP, delay
            try:
                # Not limited by the query's EDNS size, which is about UDP.
                return response.to_wire(max_size=65535), delay
            except dns.exception.TooBig:  # more than a TCP message can carry (64 KB)
                response = dns.message.make_response(query)
                response.set_rcode(dns.rcode.SERVFAIL)
                return response.to_wire(), delay
        limit = max(query.payload, CLASSIC_UDP_LIMIT) if query.edns >= 0 else CLASSIC_UDP_LIMIT
        if fault and (fault.truncate or fault.hangup):
            return _truncated(response).to_wire(), delay
        try:
            return response.to_wire(max_size=limit), delay
        except dns.exception.TooBig:
            return _truncated(response).to_wire(), delay


def _truncated(response: dns.message.Message) -> dns.message.Message:
    response.answer.clear()
    response.authority.clear()
    response.additional.clear()
    response.flags |= dns.flags.TC
    return response


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, engine: _Engine) -> None:
        self._engine = engine
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply, delay = self._engine.handle(data, over_udp=True)
        if reply is None or self._transport is None:
            return
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._send, reply, addr)
        else:
            self._send(reply, addr)

    def _send(self, reply: bytes, addr: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(reply, addr)


async def _serve_tcp_client(engine: _Engine, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            reply, delay = engine.handle(await reader.readexactly(length), over_udp=False)
            if reply is None:
                continue
            if delay > 0:
                await asyncio.sleep(delay)
            if reply == HANG_UP:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client hung up, as DNS clients do after their answer
    finally:
        writer.close()


class DevDnsServer:
    """The server, bound to one loopback port for both UDP and TCP.

    In-process (tests):  port = DevDnsServer(path).start(); ...; server.stop()
    Foreground (CLI):    asyncio.run(DevDnsServer(path, port=5353).serve_forever())
    """

    def __init__(
        self,
        state_path: str | os.PathLike[str],
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        self.state_path = Path(state_path)
        self.host = host
        self.port = port
        self._engine = _Engine(Store(self.state_path), host)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def bind(self) -> int:
        """Bind UDP and TCP to the same port (a free one when port is 0)."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self._engine), local_addr=(self.host, self.port)
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(
                    lambda r, w: _serve_tcp_client(self._engine, r, w),
                    self.host,
                    port,
                    family=socket.AF_INET,
                    reuse_address=True,
                    backlog=1024,
                )
            except OSError as exc:
                udp.close()
                # A free UDP port can be taken for TCP; only then is another try useful.
                if exc.errno != errno.EADDRINUSE or self.port != 0:
                    raise
                continue
            self._udp = udp  # type: ignore[assignment]
            self.port = port
            return port
        raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")

    async def serve_forever(self) -> None:
        await self.bind()
        print(
            f"devdns listening on {self.host}:{self.port} (udp+tcp), state {self.state_path}",
            flush=True,
        )
        assert self._tcp is not None
        try:
            await self._tcp.serve_forever()
        finally:
            self._close()

    def start(self) -> int:
        """Serve from a background thread; returns the bound port."""
        started = threading.Event()
        outcome: list[OSError | int] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                outcome.append(loop.run_until_complete(self.bind()))
            except OSError as exc:  # e.g. the port is taken; reported by start() below
                outcome.append(exc)
            finally:
                started.set()  # whatever happened, start() must not wait forever
            if not outcome or isinstance(outcome[0], OSError):
                loop.close()
                return
            try:
                loop.run_forever()
            finally:
                self._close()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"devdns-{self.state_path.name}", daemon=True)
        self._thread.start()
        started.wait()
        if not outcome:
            raise RuntimeError("devdns failed to start; see the thread's traceback")
        if isinstance(outcome[0], OSError):
            raise outcome[0]
        return outcome[0]

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop = self._thread = None

    def _close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devdns.server",
        description="Authoritative DNS server on loopback.",
    )
    parser.add_argument("--port", type=int, default=5353, help="UDP and TCP port (0: any free)")
    parser.add_argument("--state", default="var/devdns.json", help="state file (records, faults)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to bind")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every query")
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("devdns plays the customer's DNS for tests and the local stack: loopback only")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        asyncio.run(DevDnsServer(args.state, host=args.host, port=args.port).serve_forever())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
