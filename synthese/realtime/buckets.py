"""Token buckets bounding each socket's events (config ``SYNTHESE_SOCKET_LIMITS``)."""
import time


class Bucket:
    """A token bucket for one socket's events: ``rate`` per second, up to ``burst`` at once.

    In this process only, and without a lock: a socket's events are handled
    one at a time by its reader.
    """

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True

    def spend(self, amount: float) -> None:
        """Take ``amount`` whatever is left: past zero, later events wait for it."""
        self.take(0)
        self.tokens -= amount

    def wait(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` could be taken."""
        return max(0.0, (amount - self.tokens) / self.rate) if self.rate else float("inf")


def buckets(limits: dict) -> dict[str, Bucket]:
    """A socket's buckets from ``SYNTHESE_SOCKET_LIMITS`` (name -> (rate, burst))."""
    return {name: Bucket(rate, burst) for name, (rate, burst) in limits.items()}

