"""Run inside a private network namespace: TFF's worker on the namespace's own loopback, reached by a Unix socket.

`helpers.runtime` starts this module under `unshare --user --map-root-user --net`, so the namespace has no network
interface but its own loopback. TFF's `worker_binary` can only listen on `[::]:PORT`; here that reaches nothing
outside. This process brings the loopback up, starts the worker, and forwards every connection made to an
owner-only Unix socket (which the driver outside can reach, as a file) to the worker's port.

It lives exactly as long as its driver: the driver holds the other end of this process's stdin, and when that
closes (the driver exited, crashed or was killed, even by SIGKILL) this process stops the worker, removes the
folders it was given (`--remove-on-exit`: the socket's and the dataset cache's, which a killed driver cannot remove)
and exits. The worker also gets SIGKILL if this process dies first (parent-death signal). Standard library only,
no TensorFlow.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40
SIOCSIFFLAGS = 0x8914
PR_SET_PDEATHSIG = 1
WORKER_PORT = 8000  # any port: nothing else lives in this namespace
CHUNK = 1 << 16


def loopback_up() -> None:
    """Bring up `lo` in this (new, empty) network namespace, as `ip link set lo up` would."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_worker(binary: str, max_calls: int) -> subprocess.Popen:
    """Start TFF's worker (killed if this process dies) and wait until it accepts connections on loopback."""
    # This process has a single thread, so a preexec_fn is safe here (it is not in the TensorFlow driver).
    worker = subprocess.Popen(
        [binary, f"--port={WORKER_PORT}", f"--max_concurrent_computation_calls={max_calls}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"worker_binary exited with code {worker.returncode} before it was ready")
        try:
            socket.create_connection(("127.0.0.1", WORKER_PORT), timeout=1).close()
            return worker
        except OSError:
            time.sleep(0.05)
    worker.kill()
    raise SystemExit("worker_binary did not listen within 60 s")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def _forward(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    worker_reader, worker_writer = await asyncio.open_connection("127.0.0.1", WORKER_PORT)
    sock = worker_writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(_pipe(client_reader, worker_writer), _pipe(worker_reader, client_writer))


async def serve(path: str) -> None:
    """Forward connections on the Unix socket `path` to the worker until stdin (the driver's lifeline) closes."""
    old = os.umask(0o177)  # the socket is created owner-only (rw-------): no other local user can connect
    try:
        server = await asyncio.start_unix_server(_forward, path=path)
    finally:
        os.umask(old)
    loop = asyncio.get_running_loop()
    lifeline = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lifeline), sys.stdin)
    print("ready", flush=True)
    async with server:
        while await lifeline.read(CHUNK):  # returns b"" when the driver's end closes
            pass


def main(argv: list[str] | None = None) -> int:
    """Entry point, run by helpers.runtime inside the namespace."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--max-calls", type=int, default=-1)
    parser.add_argument("--remove-on-exit", action="append", default=[], help="a folder to delete after the worker")
    parser.add_argument(
        "--remove-if-empty",
        action="append",
        default=[],
        help="a folder shared with other workers: deleted after the worker if nothing is left in it",
    )
    args = parser.parse_args(argv)
    # SIGTERM (a `kill`, a container stop) ends the forwarder like a closed lifeline: the cleanup below still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # No parent-death signal for this process: Linux ties it to the driver's *thread*, and a driver may start
    # this from a thread that ends long before it does. The stdin lifeline covers every way the driver can end.
    loopback_up()
    worker = start_worker(args.worker, args.max_calls)
    try:
        asyncio.run(serve(args.socket))
    finally:
        worker.kill()
        worker.wait()
        try:
            os.unlink(args.socket)
        except OSError:
            pass
        for folder in args.remove_on_exit:
            shutil.rmtree(folder, ignore_errors=True)
        for folder in args.remove_if_empty:
            try:
                os.rmdir(folder)
            except OSError:  # another worker's socket is still there, or it is gone already
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
