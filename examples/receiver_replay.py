"""Catch up after an outage: replay a webhook's delivery history through the live receiver.

While your receiver was down (or its handler had a bug), Pancake's deliveries failed and its
retries ran out. This worker walks the webhook's history since a date and runs each event once
through the same handlers and the same store as the live receiver (``receiver_starlette.py``):
events the live receiver already handled count as duplicates and are skipped, so running it
again, or while the receiver is back up, never handles an event twice.

Run it::

    export PANCAKE_API_KEY=... PANCAKE_SHOP_ID=... PANCAKE_WEBHOOK_SECRET=whsec_...
    python receiver_replay.py wh_1 --since 2024-04-28

It exits 1 when a handler still fails for some event (run it again once fixed).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Sequence

from receiver_starlette import create_receiver

from pancake_pos import PancakeClient
from pancake_pos.receiver import SQLiteStore


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("webhook_id", help="the webhook whose history to replay")
    parser.add_argument(
        "--since",
        type=datetime.date.fromisoformat,
        help="only deliveries from this day on (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("PANCAKE_EVENTS_DB", "pancake-events.db"),
        help="the live receiver's SQLite store",
    )
    args = parser.parse_args(argv)

    receiver = create_receiver(os.environ["PANCAKE_WEBHOOK_SECRET"], SQLiteStore(args.db))
    try:
        with PancakeClient() as client:  # PANCAKE_API_KEY, PANCAKE_SHOP_ID from the environment
            history = client.webhooks.iter_deliveries(
                webhook_id=args.webhook_id, from_date=args.since
            )
            report = receiver.replay_sync(history)
    finally:
        receiver.close()
    print(
        f"processed {report.processed}, duplicates {report.duplicates}, "
        f"ignored {report.ignored}, failed {report.failed}"
    )
    if report.failed:
        print("still failing:", ", ".join(report.failed_ids), file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
