"""A fault-injecting HTTP proxy on 127.0.0.1, in front of the local S3 server, for the
reliability tests and ``benchmarks/stress_reliability.py``.

Each request is forwarded to the server, or answered with a fault chosen by a seeded
schedule: ``503`` (an S3 ``SlowDown``), ``reset`` (the connection closed with a TCP reset
before any answer) or ``truncate`` (the server's status and ``Content-Length``, then half
the body, then the connection closed). A URL (with its ``Range``, so each byte range of a
file is a request of its own) gets at most ``per_url`` faults, so a client that retries
always gets through in the end; ``counts`` says what was injected and forwarded,
``requests`` how many requests came in, and ``body_bytes`` how many bytes of response bodies
went to clients (the benchmarks' count of what a run fetched). ``delay`` seconds pass before
each answer (a distant bucket's round trip). Traffic goes only to the upstream given, which
must be on the loopback interface.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("503", "reset", "truncate")
CONTROL = "/__faultproxy__/"
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass
class Schedule:
    """Which requests fail and how: each request of a URL that has had fewer than
    ``per_url`` faults fails with probability ``rate``, the fault drawn from ``kinds``."""

    rate: float = 0.3
    per_url: int = 1
    kinds: tuple[str, ...] = FAULTS
    seed: int = 0
    enabled: bool = True
    delay: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    body_bytes: int = 0
    requests: int = 0
    _seen: Counter[str] = field(default_factory=Counter)
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fault_for(self, url: str) -> str | None:
        with self._lock:
            self.requests += 1
            fault = None
            if (
                self.enabled
                and self._seen[url] < self.per_url
                and self._random.random() < self.rate
            ):
                fault = self._random.choice(self.kinds)
                self._seen[url] += 1
            self.counts[fault or "forwarded"] += 1
            return fault


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FaultProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._proxy()

    def do_HEAD(self) -> None:
        self._proxy()

    def _control(self) -> bool:
        """``/__faultproxy__/stats`` (counts as JSON) and ``/__faultproxy__/set?rate=R&
        per_url=N`` (a new fault rate): for a benchmark that runs the proxy in a process of
        its own (``python -m laion_fmri_datalad.devserver.faultproxy``)."""
        if not self.path.startswith(CONTROL):
            return False
        schedule = self.server.schedule
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if "rate" in query:
            schedule.rate = float(query["rate"][0])
        if "per_url" in query:
            schedule.per_url = int(query["per_url"][0])
        with schedule._lock:
            body = json.dumps(
                {
                    "requests": schedule.requests,
                    "body_bytes": schedule.body_bytes,
                    "counts": dict(schedule.counts),
                }
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def _proxy(self) -> None:
        if self._control():
            return
        schedule = self.server.schedule
        if schedule.delay:
            time.sleep(schedule.delay)
        fault = schedule.fault_for(f"{self.command} {self.path} {self.headers.get('Range', '')}")
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault == "503":
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(SLOW_DOWN)
            return
        upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request(self.command, self.path, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        length = answer.getheader("Content-Length")
        self.send_header("Content-Length", length if length is not None else str(len(body)))
        if fault == "truncate" and self.command != "HEAD" and len(body) > 1:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.server.schedule.body_bytes += len(body) // 2
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            with self.server.schedule._lock:
                self.server.schedule.body_bytes += len(body)


class FaultProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # a client opening many connections at once (64 range requests in flight) would overrun
    # the default listen backlog of 5: the kernel drops the rest, and they retry after 1 s
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that drops its connection (as clients do after a fault) is no error of
        the proxy's; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def __init__(self, upstream: str, schedule: Schedule, port: int = 0) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"upstream {upstream!r} is not on the loopback interface")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.schedule = schedule
        super().__init__(("127.0.0.1", port), _Handler)


class FaultProxy:
    """``with FaultProxy(server.endpoint_url, Schedule(rate=0.3)) as proxy: proxy.url``."""

    def __init__(self, upstream: str, schedule: Schedule | None = None, port: int = 0) -> None:
        self.schedule = schedule or Schedule()
        self.server = FaultProxyServer(upstream, self.schedule, port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """Serve a proxy in front of ``UPSTREAM`` until killed; print its URL first."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("upstream")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--per-url", type=int, default=1)
    args = parser.parse_args()
    schedule = Schedule(rate=args.rate, per_url=args.per_url, delay=args.delay)
    proxy = FaultProxy(args.upstream, schedule)
    print(proxy.url, flush=True)
    proxy.server.serve_forever()


if __name__ == "__main__":
    main()
