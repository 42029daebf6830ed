"""Command line: ``python -m realtime_nb serve [--host H] [--port N] [--dialect D]`` runs the
embedded server; ``python -m realtime_nb demo`` runs a scripted conversation against it.

Subcommands are argparse sub-parsers, each with a ``func`` default, so more can be added
without touching the dispatch.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from .core.protocol import DIALECT_NAMES as DIALECTS


def _serve(args: argparse.Namespace) -> int:
    """Run the embedded server until Ctrl-C (or SIGTERM), printing where to connect."""
    import signal

    from .server import EmbeddedServer

    server = EmbeddedServer(args.host, args.port, dialect=args.dialect,
                            session_ttl=args.session_ttl, chunk_delay=args.chunk_delay)
    server.start()
    print(f"realtime_nb embedded server ({args.dialect} dialect) listening on {server.url}")
    print(f"openai SDK: AsyncOpenAI(api_key='x', websocket_base_url='{server.base_url}')")
    print("Press Ctrl-C to stop.", flush=True)
    done = threading.Event()
    # SIGTERM ends the server as cleanly as Ctrl-C (a test or a supervisor terminates it)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped.", flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Run the offline demo conversation and print it with its DataFrame."""
    from .demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m realtime_nb",
                                     description="realtime_nb command line tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser("serve", help="run the embedded offline Realtime server",
                                description="Run the embedded offline Realtime server.")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    serve.add_argument("--dialect", choices=DIALECTS, default="ga",
                       help="protocol dialect of connections without ?dialect= (default ga)")
    serve.add_argument("--session-ttl", type=float, default=None, metavar="SECONDS",
                       help="close each connection after this many seconds")
    serve.add_argument("--chunk-delay", type=float, default=0.0, metavar="SECONDS",
                       help="pause between streamed deltas")
    serve.set_defaults(func=_serve)
    demo = commands.add_parser("demo", help="run a scripted conversation on the embedded server",
                               description="Run a scripted conversation on the embedded server "
                               "and print it, with its DataFrame.")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
