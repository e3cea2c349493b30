"""Start moto's server with its extensions (snapshots.py, tags.py) and the control middleware.

Usage: ``python -m ds_emulator [--host 127.0.0.1] [--port 0] [--watch-parent]``

With ``--port 0`` the OS picks a free port; the chosen one is printed as the first line of
stdout, ``READY http://127.0.0.1:PORT``, which is what the Rust test support waits for.
``--watch-parent`` makes the server exit when the process that started it dies, so a test
binary killed with SIGKILL leaves no stray emulator behind.

``--forks`` starts no server: it imports moto once (about 3 s of CPU, most of it moto's EC2
tables, which Directory Service needs for its VPCs) and then forks one emulator per ``start``
line read on stdin, each on a free port with state of its own, and writes
``READY http://127.0.0.1:PORT PID`` (or ``FAILED reason``) for each. A test process that needs
many emulators at once asks one of these (``tests/support/local_aws.py``). At end of stdin (the
test process closed it, or died) the forks server exits, and its emulators follow it.

Each emulator writes its order seed to stderr as it starts (the order and the page sizes of
DescribeSnapshots, ``paging.py``); ``DS_EMULATOR_ORDER_SEED=N`` fixes it, to replay a failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import sys
import threading
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from . import snapshots, tags
from .control import EmulatorMiddleware
from .paging import PAGING, SEED_ENV, seed_from_env


def install() -> None:
    """Install the extensions of moto: the snapshot operations and the tag checks."""
    snapshots.install()
    tags.install()


def build_app() -> EmulatorMiddleware:
    install()
    return EmulatorMiddleware(DomainDispatcherApplication(create_backend_app))


def _log_order_seed() -> None:
    """On stderr, so that the READY line stays the first line of stdout."""
    print(
        f"ds_emulator: order seed {PAGING.seed} (DescribeSnapshots' order and page sizes; "
        f"{SEED_ENV}={PAGING.seed} repeats them)",
        file=sys.stderr, flush=True,
    )


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def _forks(host: str) -> None:
    """Fork one emulator per ``start`` line on stdin; return at end of stdin."""
    # The kernel reaps the emulators a test kills; the forks server never waits for them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        if line.strip() != "start":
            print(f"FAILED unknown request {line.strip()!r}: the one request is 'start'", flush=True)
            continue
        if os.fork() == 0:
            _forked(host)


def _forked(host: str) -> None:
    """In the child: fresh identifiers, a server of its own; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # Forked children share their parent's random state: without a reseed every emulator
        # would hand out the same directory and snapshot ids in the same order.
        from moto.moto_api._internal import mock_random

        random.seed()
        mock_random.seed()
        PAGING.reseed(seed_from_env())
        _log_order_seed()
        server = make_server(host, 0, build_app(), threaded=True)
        port = server.socket.getsockname()[1]
        os.environ["MOTO_PORT"] = str(port)
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
        print(f"READY http://{host}:{port} {os.getpid()}", flush=True)
        server.serve_forever()
    except BaseException as e:  # noqa: BLE001 - the asker must hear of it, whatever it is
        print(f"FAILED {e!r}", flush=True)
        code = 1
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ds_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")))
    parser.add_argument("--watch-parent", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    parser.add_argument(
        "--forks", action="store_true",
        help="fork an emulator per 'start' line on stdin (see the module's docstring)",
    )
    parser.add_argument(
        "--directory-limit", type=int, default=None,
        help="raise moto's per-Region directory limits (for scale benchmarks)",
    )
    args = parser.parse_args(argv)

    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.directory_limit:
        from moto.ds.models import Directory

        Directory.CLOUDONLY_DIRECTORIES_LIMIT = args.directory_limit
        Directory.CLOUDONLY_MICROSOFT_AD_LIMIT = args.directory_limit
        Directory.CONNECTED_DIRECTORIES_LIMIT = args.directory_limit
    if args.forks:
        install()
        _forks(args.host)
        sys.exit(0)
    server = make_server(args.host, args.port, build_app(), threaded=True)
    port = server.socket.getsockname()[1]
    os.environ["MOTO_PORT"] = str(port)
    if args.watch_parent:
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    _log_order_seed()
    print(f"READY http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
