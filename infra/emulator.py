"""The embedded AWS emulator: moto in server mode, serving DynamoDB, SQS and S3 (and the rest
of moto) on one HTTP endpoint, `http://127.0.0.1:$CODEPIPE_EMULATOR_PORT`.

    python -m infra.emulator [--host 127.0.0.1] [--port 5005] [--port-file PATH]

Runs until SIGTERM/SIGINT. moto keeps all its data in this process's memory, so restarting the
*process* loses every table, queue and object. To simulate an outage without losing state
(fault-injection tests), the HTTP listener alone can be taken down and brought back:

    kill -USR1 <pid>   stop listening: the port is closed and open connections are cut
    kill -USR2 <pid>   listen again on the same port, with the same in-memory data

`--port 0` picks a free port; `--port-file` receives the port actually bound (written
atomically once the server accepts connections), which is how the test harness finds it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.serving import ThreadedWSGIServer


def _moto_app() -> Any:
    # Imported lazily: moto is heavy and only this process needs it.
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    # moto's dispatcher lists its own package directory (a listdir and ~140 stats) on every
    # request to recognise service names: a fifth of the emulator's CPU per AWS call. The
    # list cannot change while the process runs.
    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.cache(lambda: modules)

    return DomainDispatcherApplication(create_backend_app), MotoRequestHandler


_COMPONENT = re.compile(r"codepipe-([a-z]+)")
_SCOPE_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([a-z0-9-]+)/aws4_request")


class RequestCounter:
    """WSGI middleware: counts the AWS calls it serves by caller (the `codepipe-<component>` of
    the user agent), service and HTTP method; `GET /_codepipe/requests` answers the counts as
    JSON. Benchmarks use it to show, e.g., that a submission made no S3 call."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/_codepipe/requests":
            with self.lock:
                body = json.dumps(self.counts, sort_keys=True).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        component = _COMPONENT.search(environ.get("HTTP_USER_AGENT", ""))
        service = _SCOPE_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        key = (f"{component.group(1) if component else 'other'} {service.group(1) if service else 'unsigned'} "
               f"{environ.get('REQUEST_METHOD', '?')}")
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
        return self.app(environ, start_response)


class DynamoDBSerialiser:
    """WSGI middleware: one DynamoDB call into moto at a time. moto's DynamoDB is not
    thread-safe: a GetItem with a ProjectionExpression (or UpdateItem's copy of the old item)
    iterates an item's attributes while another thread's UpdateItem changes them, and answers
    500 ("dictionary changed size during iteration"); with the gateway's two attempts, two in a
    row became a 503 for a client's read. DynamoDB never fails a read because of a concurrent
    write. Only DynamoDB: SQS long polls must go on in parallel, and S3 and SQS keep their own
    locks."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # moto answers a list; reading it inside the lock keeps a lazy body serialised too
            return list(self.app(environ, start_response))


class _TrackingServer(ThreadedWSGIServer):
    """A werkzeug server that remembers its open connections, so an outage can also cut the
    keep-alive connections clients hold (otherwise pooled clients would still get through)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self.conn_lock:
            self.connections.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
            self.connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Emulator:
    """moto's WSGI app behind a listener that can be stopped and restarted in-process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5005, verbose: bool = False) -> None:
        self.host = host
        self.port = port
        app, handler = _moto_app()
        self.app = RequestCounter(DynamoDBSerialiser(app))
        if not verbose:
            # One access-log line per AWS call drowns everything else in `make run`'s output.
            handler = type("QuietHandler", (handler,), {"log_request": lambda *a, **k: None})
        self.handler = handler
        self._server: _TrackingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None

    def start(self) -> int:
        if self._server is not None:
            return self.port
        deadline = time.monotonic() + 10
        while True:
            try:
                server = _TrackingServer(self.host, self.port, self.app, self.handler)
                break
            except OSError:
                # The port of a just-stopped listener can linger briefly.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="moto-http", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.cut_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)


def wait_until_listening(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"emulator did not listen on {host}:{port} within {timeout}s") from None
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    from shared.settings import get_settings

    parser = argparse.ArgumentParser(description="codepipe embedded AWS emulator (moto server mode)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=get_settings().emulator_port)
    parser.add_argument("--port-file", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    # moto signs nothing, but boto-style code inside moto may look for a region/credentials.
    os.environ.setdefault("AWS_DEFAULT_REGION", get_settings().aws_region)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

    commands: queue.Queue[str] = queue.Queue()
    signal.signal(signal.SIGTERM, lambda *_: commands.put("exit"))
    signal.signal(signal.SIGINT, lambda *_: commands.put("exit"))
    signal.signal(signal.SIGUSR1, lambda *_: commands.put("pause"))
    signal.signal(signal.SIGUSR2, lambda *_: commands.put("resume"))

    emulator = Emulator(args.host, args.port, verbose=args.verbose)
    port = emulator.start()
    wait_until_listening(args.host, port)
    if args.port_file is not None:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    print(f"emulator: listening on http://{args.host}:{port} (pid {os.getpid()})", file=sys.stderr, flush=True)

    while True:
        try:
            command = commands.get(timeout=1.0)
        except queue.Empty:
            continue
        if command == "exit":
            break
        if command == "pause":
            emulator.stop()
            print("emulator: listener stopped (data kept)", file=sys.stderr, flush=True)
        elif command == "resume":
            emulator.start()
            print(f"emulator: listening again on {args.host}:{emulator.port}", file=sys.stderr, flush=True)
    emulator.stop()
    print("emulator: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
