"""A sliding-window rate limiter: at most `max_calls` calls in any `window` seconds.

Each call takes a slot before it is sent and stamps it with the time its response *finished*
(`with limiter.slot(): send()`), and a new call waits until the oldest stamp is `window` seconds old. The
server sees a request arrive no later than we see its response end, so spacing calls by completion times
keeps the server's own count (by arrival) within the limit whatever the latency: the client never draws a
429 from its own pacing. Every HTTP attempt, including retries, goes through the limiter. The clock and
sleep functions are injectable for tests.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class SlidingWindowLimiter:
    def __init__(
        self,
        max_calls: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.05,
    ):
        if max_calls < 1 or window <= 0:
            raise ValueError("max_calls must be >= 1 and window > 0")
        self.max_calls = max_calls
        self.window = float(window)
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()  # completion times (or start times of calls in flight)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.waited = 0.0  # total seconds spent waiting, for reports
        self.calls = 0

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()

    def wait_time(self) -> float:
        """Seconds until a call may start (0 if now)."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            if len(self._stamps) < self.max_calls:
                return 0.0
            return self._stamps[0] + self.window + self.margin - now

    def acquire(self) -> list[float]:
        """Block until a slot is free, take it, and return the slot (a one-element list holding its stamp)."""
        while True:
            with self._cond:
                now = self._clock()
                self._prune(now)
                if len(self._stamps) < self.max_calls:
                    # in flight: stamped +inf so it counts until it completes
                    slot = [math.inf]
                    self._stamps.append(math.inf)
                    self.calls += 1
                    return slot
                if self._stamps[0] == math.inf:  # every slot in flight (threads): wait for a release
                    self._cond.wait(timeout=1.0)
                    continue
                delay = self._stamps[0] + self.window + self.margin - now
            if delay > 0:
                self.waited += delay
                self._sleep(delay)

    def release(self, slot: list[float]) -> None:
        """Stamp the slot with the completion time."""
        with self._cond:
            now = self._clock()
            try:
                self._stamps.remove(slot[0])
            except ValueError:
                pass
            slot[0] = now
            # keep stamps sorted (completion order may differ from start order under threads)
            bisect.insort(self._stamps, now)
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        s = self.acquire()
        try:
            yield
        finally:
            self.release(s)

    def estimate(self, calls: int, seconds_per_call: float = 0.0) -> float:
        """A lower bound on the seconds `calls` more calls take, given the window and per-call time."""
        if calls <= 0:
            return 0.0
        windows = max(0, (calls - (self.max_calls - len(self._stamps))) / self.max_calls)
        return max(calls * seconds_per_call, windows * self.window)
