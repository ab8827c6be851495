"""Fixtures shared by every test folder."""

import os
from pathlib import Path

import pytest


def find_shared_data(name):
    """The project's shared data folder ``name`` ($CHAINRULE_DATA, or ../shared/data beside the
    repository), or skip the test when this machine does not have it."""
    roots = [os.environ.get("CHAINRULE_DATA"), Path(__file__).resolve().parents[1] / ".." / "shared" / "data"]
    for root in roots:
        if root and (Path(root) / name).is_dir():
            return (Path(root) / name).resolve()
    pytest.skip(f"shared data {name!r} not found (set CHAINRULE_DATA)")


@pytest.fixture
def shared_data():
    """``shared_data("mnist")`` is the folder of that shared data set (see ``find_shared_data``)."""
    return find_shared_data


@pytest.fixture(autouse=True)
def numpy_forms_unless_a_test_asks():
    """Every test starts on the ops' NumPy forms: ``chainrule train`` run in-process (the CLI tests)
    turns the compiled kernels on for the whole process, so they are turned off after each test."""
    yield
    from chainrule.ops import _compiled
    _compiled.switch(False)
