#!/usr/bin/python3
"""Print featstore's monitoring alerts as they open.

featstore announces every new alert with NOTIFY featstore_alerts.  The
payload names the alert ({"id", "kind", "group", "feature", "since"}) and
carries no data values, since every role of the database may LISTEN; this
listener reads the alert's row from featstore.alerts, which row-level
security shows only to roles that may read the group's data.

    python3 examples/alerts_listener.py "dbname=shop user=oncall" [--count N] [--timeout S]

--count N exits after N alerts, --timeout S after S seconds without one
(exit status 2); by default it runs until interrupted.  Each alert is one
line of JSON on stdout: the payload as "notification", the row as "alert"
(null if the role may not see it).
"""
import argparse
import json
import select
import sys
import time

import psycopg2
import psycopg2.extensions

ROW_QUERY = """
SELECT id, kind, group_name, feature_name, since, last_seen, details, resolved_at
  FROM featstore.alerts
 WHERE id = %s
"""


def read_alert(conn, alert_id):
    """The alert's row as a dict, or None if this role cannot see it."""
    with conn.cursor() as cur:
        cur.execute(ROW_QUERY, (alert_id,))
        row = cur.fetchone()
    if row is None:
        return None
    names = ("id", "kind", "group_name", "feature_name", "since", "last_seen",
             "details", "resolved_at")
    alert = dict(zip(names, row))
    for key in ("since", "last_seen", "resolved_at"):
        if alert[key] is not None:
            alert[key] = alert[key].isoformat()
    return alert


def handle(conn, notify):
    """Print one notification with its row; False if the payload is not an alert."""
    try:
        payload = json.loads(notify.payload)
        alert_id = int(payload["id"])
    except (ValueError, KeyError, TypeError):
        print("ignoring a notification that is not an alert: %r" % notify.payload,
              file=sys.stderr)
        return False
    print(json.dumps({"notification": payload, "alert": read_alert(conn, alert_id)}),
          flush=True)
    return True


def main():
    parser = argparse.ArgumentParser(description="Print featstore alerts as they open.")
    parser.add_argument("dsn", help="libpq connection string")
    parser.add_argument("--count", type=int, default=0, help="exit after this many alerts")
    parser.add_argument("--timeout", type=float, default=0,
                        help="exit with status 2 after this many seconds without an alert")
    args = parser.parse_args()

    conn = psycopg2.connect(args.dsn)
    # autocommit: LISTEN takes effect at once, and each row read sees the
    # alert's committed transaction
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    with conn.cursor() as cur:
        cur.execute("LISTEN featstore_alerts")
    print("listening on featstore_alerts", file=sys.stderr, flush=True)

    seen = 0
    last = time.monotonic()
    while args.count == 0 or seen < args.count:
        wait = 5.0
        if args.timeout:
            wait = max(0.0, args.timeout - (time.monotonic() - last))
            if wait == 0.0:
                print("no alert within %g seconds" % args.timeout, file=sys.stderr)
                return 2
        if select.select([conn], [], [], wait) == ([], [], []):
            continue
        conn.poll()
        while conn.notifies:
            if handle(conn, conn.notifies.pop(0)):
                seen += 1
                last = time.monotonic()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
