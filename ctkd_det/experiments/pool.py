"""A few training runs at a time, each with its share of the CPU threads.

On a small machine shared with other jobs, torch's default (one thread per core)
can make every step several times slower than one thread per run; ``jobs`` runs
of ``threads`` threads each share the cores, and a run that trains alone (the
teacher, the backbone pretraining) gets the threads of all slots.
"""
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, List


class JobPool:
    """``jobs`` runs at a time of ``threads`` CPU threads each (0: inherited)."""

    def __init__(self, jobs: int = 1, threads: int = 0):
        self.jobs, self.threads = max(1, jobs), threads

    @property
    def alone_threads(self) -> int:
        """Threads of a run that trains alone: all slots' (``threads x jobs``);
        0 (inherited) when ``threads`` is."""
        return self.threads * self.jobs if self.threads else 0

    def run(self, tasks: Iterable[Callable[[], object]]) -> List[object]:
        """Run the tasks, up to ``jobs`` at a time, in their order; their results
        in that order. The first failed task's exception is raised once all
        have ended."""
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(task) for task in tasks]
        return [f.result() for f in futures]
