"""`sg-bitbucket emulator`: run the local StackGuardian + Bitbucket emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys

EXIT_OK = 0
EXIT_ERROR = 1

def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="0 (default): ephemeral ports; P: StackGuardian on P, Bitbucket on P+1, admin on P+2",
    )
    parser.add_argument("--state", metavar="FILE", help="load the emulated data from FILE and keep it there")
    parser.add_argument(
        "--secret-read-mode",
        choices=("mask", "mask_user", "omit", "echo"),
        default="mask",
        help="how StackGuardian reads secrets back: ******** (default), user:********, dropped, or echoed",
    )
    parser.add_argument(
        "--list-item-wrap", action="store_true", help='wrap each listall item as {"msg": record} (SDK typing)'
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host; the admin API has no authentication, so only on a trusted network",
    )


def run_emulator(args: argparse.Namespace) -> int:
    """Start the emulator, print its URLs as one JSON line, run until SIGINT or SIGTERM."""
    import json
    import signal
    import threading

    from ...emulator import Emulator
    from ...emulator.server import is_loopback

    if not args.allow_remote and not is_loopback(args.host):
        print(
            f"sg-bitbucket emulator: refusing --host {args.host}: not a loopback address "
            "(the admin API has no authentication); add --allow-remote to expose it",
            file=sys.stderr,
        )
        return EXIT_ERROR
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        emulator = Emulator(
            host=args.host,
            port=args.port,
            state_file=args.state,
            allow_remote=args.allow_remote,
            secret_read_mode=args.secret_read_mode,
            list_item_wrap=args.list_item_wrap,
        )
    except (OSError, ValueError) as error:
        print(f"sg-bitbucket emulator: cannot start: {error}", file=sys.stderr)
        return EXIT_ERROR
    with emulator:
        print(json.dumps(emulator.urls), flush=True)
        while not stop.wait(0.5):
            pass
    return EXIT_OK
