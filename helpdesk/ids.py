"""Collision-resistant ids in the CUID (v1) format Prisma's `cuid()` writes.

The original Node version keys every table with 25-character CUIDs, so ours
must be the same shape for rows from both to live side by side.
"""

import itertools
import os
import secrets
import socket
import time

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_BLOCK = 4
_BLOCK_SPACE = 36**_BLOCK
_counter = itertools.count(secrets.randbelow(_BLOCK_SPACE))


def _base36(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 36)
        digits.append(_BASE36[remainder])
    return "".join(reversed(digits)).rjust(width, "0")[-width:]


def _fingerprint() -> str:
    host_sum = sum(socket.gethostname().encode()) + len(socket.gethostname()) + 36
    return _base36(os.getpid(), 2) + _base36(host_sum, 2)


def new_cuid() -> str:
    """Return a new 25-character id: 'c', time, counter, host print, randomness."""
    timestamp = _base36(time.time_ns() // 1_000_000, 8)
    counter = _base36(next(_counter) % _BLOCK_SPACE, _BLOCK)
    randomness = _base36(secrets.randbelow(_BLOCK_SPACE**2), 2 * _BLOCK)
    return f"c{timestamp}{counter}{_fingerprint()}{randomness}"
