"""Running one task per shard: on a Dask client when there is one, else in this process.

Both the curation pipeline and tokenization use this, so progress, error handling and
cancellation behave the same: a failing task cancels the rest (finished shards stay written,
and a rerun skips them). On a scheduler shared with lease workers (``lease-<id>``: someone's
accelerator slice), corpus tasks go only to the other workers while there are any.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["map_tasks", "run_task", "shared_workers"]

T = TypeVar("T")


def map_tasks(
    fn: Callable[[Any], T],
    items: Sequence[Any],
    *,
    client: Any = None,
    label: str,
    progress: bool = True,
    initial: int = 0,
    on_result: Callable[[T], None] | None = None,
) -> list[T]:
    """``[fn(item) for item in items]``, as Dask tasks when ``client`` is given, with a
    progress bar (``initial``: shards already done before this call); ``on_result`` sees each
    result as it arrives (e.g. :class:`zslab.jupyter.widgets.PipelineProgress`)."""
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(items) + initial,
        initial=initial,
        desc=label,
        unit="shard",
        disable=not progress,
    )
    try:
        if client is None:
            results = []
            for item in items:
                results.append(fn(item))
                bar.update(1)
                if on_result is not None:
                    on_result(results[-1])
            return results
        from distributed import as_completed

        futures = client.map(fn, list(items), pure=False, workers=shared_workers(client))
        try:
            # The client's own loop: a client made with set_as_default=False (lab.dask_client)
            # is not the default one that as_completed would otherwise look for.
            for future in as_completed(futures, loop=client.loop):
                result = future.result()  # raises the task's error here
                bar.update(1)
                if on_result is not None:
                    on_result(result)
        except BaseException:
            client.cancel(futures)
            raise
        return [future.result() for future in futures]
    finally:
        bar.close()


def run_task(fn: Callable[..., T], *args: Any, client: Any = None) -> T:
    """``fn(*args)``, on one Dask worker when ``client`` is given."""
    if client is None:
        return fn(*args)
    result: T = client.submit(fn, *args, pure=False, workers=shared_workers(client)).result()
    return result


def shared_workers(client: Any) -> list[str] | None:
    """The workers that are not a lease's, or None (no restriction) when all or none are."""
    info = client.scheduler_info(n_workers=-1)
    workers = info.get("workers", {})
    shared = [a for a, w in workers.items() if not str(w.get("name", "")).startswith("lease-")]
    return shared if shared and len(shared) < len(workers) else None
