"""ProgressBar: a live bar per epoch on a terminal (with rich, if installed), one plain line otherwise."""

import sys
import time

from chainrule.train.callbacks import Callback

__all__ = ["ProgressBar"]


def format_epoch(epoch, epochs, logs, seconds):
    """``epoch 3/10 - loss 0.1234 - val_loss 0.2345 - 1.2s`` (epoch counted from 1)."""
    parts = [f"epoch {epoch + 1}/{epochs}"]
    parts += [f"{key} {value:.4f}" for key, value in logs.items()]
    parts.append(f"{seconds:.1f}s")
    return " - ".join(parts)


class ProgressBar(Callback):
    """Show training progress.

    On a terminal with ``rich`` installed (the ``progress`` extra), a bar per epoch advances with
    each batch and shows the running loss; otherwise (a file, a pipe, a notebook log, or no rich)
    each epoch prints one line: ``epoch 3/10 - loss 0.1234 - val_loss 0.2345 - 1.2s``.

    Args:
        stream: where to write; default ``sys.stdout`` at the time training starts.
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self._bar = None

    def on_train_begin(self, logs=None):
        self._out = self.stream if self.stream is not None else sys.stdout
        self._bar = _rich_bar(self._out) if _is_terminal(self._out) else None
        if self._bar is not None:
            self._bar.start()

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()
        self._loss_sum = self._count = 0
        if self._bar is not None:
            self._task = self._bar.add_task(f"epoch {epoch + 1}/{self.trainer.epochs}",
                                            total=len(self.trainer.train_data), loss="")

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is None:
            return
        logs = logs or {}
        size = logs.get("size", 1)
        self._loss_sum += logs.get("loss", 0.0) * size
        self._count += size
        self._bar.update(self._task, advance=1, loss=f"loss {self._loss_sum / max(self._count, 1):.4f}")

    def on_epoch_end(self, epoch, logs=None):
        line = format_epoch(epoch, self.trainer.epochs, logs or {}, time.perf_counter() - self._started)
        if self._bar is not None:
            self._bar.remove_task(self._task)
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self._out, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _rich_bar(stream):
    """A rich Progress writing to ``stream``, or None if rich is not installed (plain lines then)."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:
        return None
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[loss]}"), TimeElapsedColumn(),
                    console=Console(file=stream), transient=False)
