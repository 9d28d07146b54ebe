"""Benchmarks, for the project's developers: ``python -m bench`` (what ``make bench`` runs)
runs every module in :data:`bench.__main__.BENCHMARKS`; each exposes ``run() -> int``, prints
its own figures and says whether its targets were met (speed, memory, accuracy on held-out sets).
"""

#: Nothing to import: the command line (``python -m bench``) is the interface. (tests/actions
#: builds its Rasa calls with :func:`bench.fixtures.with_dispatch_slots`, as the bench does.)
__all__: list[str] = []
