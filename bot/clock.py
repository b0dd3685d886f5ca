"""The wall clock, in one place so tests can see where time comes from."""

import time


def now() -> float:
    """Seconds since the epoch."""
    return time.time()
