"""Subscribers of bench/fanout.py, held in this process or spread over several.

One Python process reads about 19,000 frames a second here: 10,000 subscribers in the
process that also sends the triggers took it about a second to read one event, on
either side, so the 10,000-subscriber p99 measured the bench, not the servers. With
`--client-processes K` each of K child processes (`python -m bench.crowd`) holds its
share of the subscribers and reports what it received, with `time.perf_counter()`
times: on Linux that clock is CLOCK_MONOTONIC, the same in every process, so receipts
are compared with the triggers' times as they are in one process.

A child reads one JSON line per command on stdin and answers each with one JSON line:
first {"dial", "n", "expected", "keep_text"} (it opens its subscribers and answers
{"opened", "failures"}), then {"do": "tally", "target"}, {"do": "expect", "count"}
and, last, {"do": "report"} (its subscribers' receipts; it then closes them).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

from bench.fanout import (
    SUBSCRIPTION,
    Subscriber,
    close_all,
    open_subscribers,
    raise_open_file_limit,
    run_loop,
)

READ_LIMIT = 1 << 28  # a report: every receipt of thousands of subscribers, in one line


@dataclass(frozen=True)
class Dial:
    """How a subscriber connects, in a form a child process can be sent: with a token,
    a GraphQL subscription on funnelgraph at `url` (its http base); without, the
    baseline's bare websocket at `url`."""

    url: str
    token: str | None = None
    variables: dict[str, Any] | None = None

    async def connect(self) -> Any:
        if self.token is None:
            import websockets

            return await websockets.connect(self.url)
        from tests.live import LiveClient

        client = await LiveClient.connect(self.url, self.token)
        await client.subscribe(SUBSCRIPTION, self.variables or {})
        return client.socket


class Crowd:
    """Subscribers in this process."""

    def __init__(self, subs: list[Subscriber], failures: list[str]) -> None:
        self.subs = subs
        self.failures = failures

    @classmethod
    async def open(cls, dial: Dial, n: int, expected: int) -> Crowd:
        subs, failures = await open_subscribers(n, dial.connect, expected)
        return cls(subs, failures)

    async def tally(self, target: int) -> tuple[int, int]:
        """(messages received in all, subscribers with fewer than `target`)."""
        counts = [len(sub.received) for sub in self.subs]
        return sum(counts), sum(1 for count in counts if count < target)

    async def expect(self, count: int) -> None:
        for sub in self.subs:
            sub.expected = count

    async def results(self) -> list[Subscriber]:
        return self.subs

    async def close(self) -> None:
        await close_all(self.subs)


class ChildCrowds:
    """Subscribers spread over child processes, as even as can be."""

    def __init__(self, children: list[asyncio.subprocess.Process], failures: list[str]) -> None:
        self.children = children
        self.failures = failures
        self.opened = 0

    @classmethod
    async def open(cls, dial: Dial, n: int, expected: int, processes: int) -> ChildCrowds:
        shares = [n // processes + (index < n % processes) for index in range(processes)]
        children = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.crowd",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=READ_LIMIT,
            )
            for share in shares
            if share
        ]
        crowds = cls(children, [])
        try:
            answers = await asyncio.gather(
                *(
                    crowds._ask(
                        child,
                        {
                            "dial": asdict(dial),
                            "n": share,
                            "expected": expected,
                            "keep_text": not i,
                        },
                    )
                    for i, (child, share) in enumerate(zip(children, shares, strict=False))
                )
            )
        except BaseException:
            await crowds.close()  # a child that could not open: none is left behind
            raise
        for answer in answers:
            crowds.opened += answer["opened"]
            crowds.failures += answer["failures"]
        return crowds

    async def tally(self, target: int) -> tuple[int, int]:
        answers = await self._ask_all({"do": "tally", "target": target})
        return sum(a["total"] for a in answers), sum(a["lacking"] for a in answers)

    async def expect(self, count: int) -> None:
        await self._ask_all({"do": "expect", "count": count})

    async def results(self) -> list[Subscriber]:
        subs = []
        for answer in await self._ask_all({"do": "report"}):
            for reported in answer["subs"]:
                sub = Subscriber(socket=None, expected=0)
                sub.received = [(int(seq), float(at)) for seq, at in reported["received"]]
                sub.problems = reported["problems"]
                sub.texts = {int(seq): text for seq, text in reported["texts"].items()}
                subs.append(sub)
        return subs

    async def close(self) -> None:
        for child in self.children:
            if child.returncode is None and child.stdin is not None:
                child.stdin.close()
        for child in self.children:
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()

    async def _ask_all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self._ask(c, command) for c in self.children)))

    @staticmethod
    async def _ask(child: asyncio.subprocess.Process, command: dict[str, Any]) -> dict[str, Any]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(command).encode() + b"\n")
        await child.stdin.drain()
        line = await child.stdout.readline()
        if not line:
            raise RuntimeError(f"bench.crowd child {child.pid} ended (status {child.returncode})")
        answer: dict[str, Any] = json.loads(line)
        return answer


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader(limit=READ_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)

    def answer(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    config = json.loads(await commands.readline())
    raise_open_file_limit(config["n"] + 256)
    crowd = await Crowd.open(Dial(**config["dial"]), config["n"], config["expected"])
    for index, sub in enumerate(crowd.subs):
        sub.keep_text = config["keep_text"] and index == 0
    answer({"opened": len(crowd.subs), "failures": crowd.failures})
    try:
        while line := await commands.readline():
            command = json.loads(line)
            if command["do"] == "tally":
                total, lacking = await crowd.tally(command["target"])
                answer({"total": total, "lacking": lacking})
            elif command["do"] == "expect":
                await crowd.expect(command["count"])
                answer({})
            elif command["do"] == "report":
                answer(
                    {
                        "subs": [
                            {"received": s.received, "problems": s.problems, "texts": s.texts}
                            for s in crowd.subs
                        ]
                    }
                )
    finally:
        await crowd.close()


if __name__ == "__main__":
    run_loop(_serve())
