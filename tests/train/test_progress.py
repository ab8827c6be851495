"""ProgressBar: one plain line per epoch off a terminal; a rich bar on one."""

import io
import re

import pytest

from chainrule import nn, optim
from chainrule.train import ProgressBar, Trainer
from chainrule.train.progress import format_epoch


def test_off_a_terminal_each_epoch_prints_one_plain_line(blobs, mlp, capsys):
    train, val, _, _ = blobs
    model = mlp()
    Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"],
            callbacks=[ProgressBar()]).fit(train, val, epochs=3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    pattern = (r"epoch {}/3 - loss \d\.\d{{4}} - accuracy \d\.\d{{4}} - val_loss \d\.\d{{4}} - "
               r"val_accuracy \d\.\d{{4}} - \d+\.\ds")
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(pattern.format(epoch), line), line


def test_format_epoch_counts_from_one_and_rounds_to_four_places():
    assert format_epoch(2, 10, {"loss": 0.123456, "val_loss": 0.5}, 1.25) == \
        "epoch 3/10 - loss 0.1235 - val_loss 0.5000 - 1.2s"


def test_on_a_terminal_with_rich_a_bar_is_drawn(blobs, mlp):
    pytest.importorskip("rich")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    train, _, _, _ = blobs
    model = mlp()
    Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
            callbacks=[ProgressBar(stream=stream)]).fit(train, epochs=2)
    text = stream.getvalue()
    assert "epoch 1/2 \x1b" in text and "━" in text                 # the bar, drawn with ANSI codes
    assert re.search(r"epoch 2/2 - loss \d\.\d{4} - \d+\.\ds\n", text)  # the summary line, unstyled
