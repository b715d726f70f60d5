"""Progress on the command line (rich, on stderr so piped output stays clean): a spinner with the stage for
work whose length is unknown (reading and validating a large file, a compaction), a bar for counted work
(the sample's files, the export's charts)."""

from __future__ import annotations

from contextlib import contextmanager


def _console():
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def busy(text: str):
    """A spinner with `text` while the block runs (nothing is drawn when stderr is not a terminal)."""
    with _console().status(text, spinner="dots"):
        yield


@contextmanager
def bar(first_stage: str):
    """A progress bar; yields step(done, total, stage)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_console(), transient=True) as progress:
        task = progress.add_task(first_stage, total=None)

        def step(done: int, total: int, stage: str) -> None:
            progress.update(task, completed=done, total=total, description=stage)

        yield step
