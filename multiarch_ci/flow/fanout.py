"""Read a blob once, write it to several targets: each sink gets its own iterator over the same chunks.

For several targets in one run (issue 13): one source GET feeds every target's upload (registry sessions,
layout files). Memory stays bounded: each sink's queue holds at most `depth` chunks, and the reader waits
for the slowest sink. A sink that fails stops only itself; a source that fails (a broken stream, a digest
that does not match) fails every sink's iterator, so no target commits the blob.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

Sink = Callable[[Iterator[bytes]], object]


class _End:
    """The source's chunks are all put (one instance, `_END`)."""


class _Failed:
    """Reading the source failed: each sink's iterator raises `error`."""

    def __init__(self, error: BaseException):
        self.error = error


_END = _End()
_Item = bytes | _Failed | _End   # what a sink's queue holds: a chunk, then _END or _Failed


def _items(q: queue.Queue[_Item], seen_end: list[bool]) -> Iterator[bytes]:
    while True:
        item = q.get()
        if isinstance(item, _End):
            seen_end[0] = True
            return
        if isinstance(item, _Failed):
            seen_end[0] = True
            raise item.error
        yield item


def fan_out(chunks: Iterable[bytes], sinks: Sequence[Sink], depth: int = 2) -> list[BaseException | None]:
    """Feed `chunks` (read once) to every sink; returns each sink's error (None when it succeeded).

    Raises the source's own error, after every sink has stopped, when reading the source failed.
    """
    queues: list[queue.Queue[_Item]] = [queue.Queue(maxsize=depth) for _ in sinks]
    errors: list[BaseException | None] = [None] * len(sinks)

    def run(i: int) -> None:
        seen_end = [False]
        try:
            sinks[i](_items(queues[i], seen_end))
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            errors[i] = e
        while not seen_end[0]:  # keep taking chunks so the reader never waits on a sink that stopped
            item = queues[i].get()
            seen_end[0] = isinstance(item, _End | _Failed)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(sinks))]
    for t in threads:
        t.start()
    source_error = None
    try:
        for chunk in chunks:
            for q in queues:
                q.put(chunk)
    except BaseException as e:  # noqa: BLE001 - every sink is told, then it is raised
        source_error = e
    for q in queues:
        q.put(_Failed(source_error) if source_error else _END)
    for t in threads:
        t.join()
    if source_error is not None:
        raise source_error
    return errors
