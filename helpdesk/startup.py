"""What a long-running process (daphne, runbot, deliver, serve) does once it has started."""

import gc


def start_up_heap_freeze() -> None:
    """Exclude everything loaded at start from the garbage collector's full passes.

    aiogram's and Django's import leave a few hundred thousand long-lived objects;
    every full collection walked them all, stalling the bot for about 120 ms (a burst
    of late pushes in bench/console.py). Frozen, a full pass sees only newer objects.
    """
    gc.collect()
    gc.freeze()
