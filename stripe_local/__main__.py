"""`python -m stripe_local --port N --webhook-url URL --webhook-secret whsec_...`"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from stripe_local.server import StripeLocalServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_local", description="A local Stripe-compatible API server."
    )
    parser.add_argument("--host", default=os.environ.get("STRIPE_LOCAL_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("STRIPE_LOCAL_PORT", "12111")),
        help="0 picks a free port; the chosen one is printed on the first line",
    )
    parser.add_argument("--webhook-url", default=os.environ.get("STRIPE_LOCAL_WEBHOOK_URL", ""))
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local")
    )
    parser.add_argument(
        "--api-key", default="", help="accept only this secret key (default: any sk_...)"
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="keep objects and idempotent results here, so a restart forgets nothing",
    )
    args = parser.parse_args(argv)
    if args.state_file:
        args.state_file.parent.mkdir(parents=True, exist_ok=True)
    server = StripeLocalServer(
        (args.host, args.port),
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        api_key=args.api_key,
        state_file=args.state_file,
    )
    host, port = server.server_address[:2]
    print(f"stripe_local listening on http://{host}:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
