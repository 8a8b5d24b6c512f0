"""Times one simple request every --every seconds, from a process of its own, until its
standard input closes; then prints each latency in seconds, one per line.

bench/fanout.py runs it while the triggers go out: timed from the process that holds
10,000 subscribers, a request waited for that process's busy event loop (by up to a
second, on either side), not for the server.

Run: `python -m bench.probe URL [--json BODY] [--header 'Name: value'] [--every 0.1]`.
A POST when --json is given, else a GET; an answer other than 200, or a JSON answer
with "errors", ends it with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import httpx


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--json", default=None)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--every", type=float, default=0.1)
    args = parser.parse_args(argv)
    headers = dict(tuple(part.strip() for part in h.split(":", 1)) for h in args.header)
    body = None if args.json is None else json.loads(args.json)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    latencies: list[float] = []
    with httpx.Client(timeout=60, headers=headers) as http:
        while not stop.is_set():
            started = time.perf_counter()
            response = http.get(args.url) if body is None else http.post(args.url, json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or (body is not None and "errors" in response.json()):
                sys.exit(f"the probe failed: {response.status_code} {response.text[:500]}")
            stop.wait(max(0.0, args.every - (time.perf_counter() - started)))
    print("\n".join(f"{latency:.6f}" for latency in latencies))


if __name__ == "__main__":
    main()
