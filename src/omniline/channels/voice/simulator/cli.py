"""``omniline voice simulator``: serve the PBX simulator with uvicorn."""

from __future__ import annotations

import argparse
from typing import Any


def register(voice: Any) -> None:
    """Add ``simulator`` to the ``voice`` subcommands."""
    p = voice.add_parser("simulator", help="serve a simulated Asterisk (ARI) for tests and demos")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--app", default="omniline", help="Stasis app inbound calls enter")
    p.add_argument("--user", default="omniline")
    p.add_argument("--password", required=True)
    p.add_argument("--speed", type=float, default=1.0, help="2 runs twice as fast as real time")
    p.add_argument("--trunk", default="trunk", help="PJSIP endpoint inbound calls arrive on")
    p.set_defaults(fn=cmd_simulator)


def cmd_simulator(args: argparse.Namespace) -> int:
    import uvicorn

    from omniline.channels.voice.simulator.app import build_app
    from omniline.channels.voice.simulator.world import SimOptions

    if args.speed <= 0:
        print("--speed must be positive")
        return 2
    options = SimOptions(
        app=args.app,
        user=args.user,
        password=args.password,
        speed=args.speed,
        trunk=args.trunk,
    )
    uvicorn.run(build_app(options), host=args.host, port=args.port, ws="websockets-sansio")
    return 0
