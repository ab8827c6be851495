"""save/load: exact round trips without pickle, atomic writes, clear errors for bad files."""

import io
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.serialization import SerializationError, load, save


def test_nested_values_round_trip_exactly(tmp_path):
    obj = {
        "floats": np.linspace(0, 1, 7, dtype=np.float64).reshape(7, 1),
        "float32": np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2],  # a non-contiguous view
        "ints": np.array([[1, -2]], dtype=np.int64), "flags": np.array([True, False]),
        "scalar_array": np.array(2.5),
        "empty": np.zeros((0, 3)), "names": np.array(["a", "bc"]),
        "tensor": cr.tensor([[1.0, 2.0]], requires_grad=True), "parameter": nn.Parameter(cr.ones(2)),
        3: "int key", "nested": {"list": [1, 2.0, None, True, "text", [np.ones(1)]], "tuple": (0.1, (0.2,))},
        "special": [math.inf, -math.inf, 1e-300, -0.0],
        "numpy scalars": [np.float32(1.5), np.int64(7), np.bool_(True)],
        "empty containers": [{}, [], ()],
    }
    path = tmp_path / "state.npz"
    save(obj, path)
    back = load(path)
    assert list(back) == list(obj)
    for key in ("floats", "float32", "ints", "flags", "scalar_array", "empty", "names"):
        assert back[key].dtype == obj[key].dtype and back[key].shape == obj[key].shape
        np.testing.assert_array_equal(back[key], obj[key])
    assert isinstance(back["tensor"], np.ndarray) and back["tensor"].tolist() == [[1.0, 2.0]]
    assert back["parameter"].dtype == np.float32
    assert back[3] == "int key" and isinstance(list(back)[9], int)
    assert back["nested"]["list"][:5] == [1, 2.0, None, True, "text"] and back["nested"]["tuple"] == (0.1, (0.2,))
    assert type(back["nested"]["list"][0]) is int and type(back["nested"]["list"][3]) is bool
    assert back["special"][:3] == [math.inf, -math.inf, 1e-300] and math.copysign(1, back["special"][3]) == -1
    assert back["numpy scalars"] == [1.5, 7, True] and back["empty containers"] == [{}, [], ()]


def test_nan_survives(tmp_path):
    save({"x": math.nan, "a": np.array([math.nan])}, tmp_path / "nan.npz")
    back = load(tmp_path / "nan.npz")
    assert math.isnan(back["x"]) and math.isnan(back["a"][0])


def test_the_file_holds_no_pickle(tmp_path):
    path = tmp_path / "state.npz"
    save({"w": np.ones(3), "meta": {"epoch": 2}}, path)
    with np.load(path, allow_pickle=False) as archive:  # would raise if any entry needed pickle
        assert sorted(archive.files) == ["__chainrule__", "a0"]
        assert archive["__chainrule__"].dtype == np.uint8


def test_model_state_dict_round_trip_is_accepted_by_load_state_dict(tmp_path):
    cr.manual_seed(0)
    source = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    target = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    state = source.state_dict()
    assert isinstance(state, OrderedDict)
    save(state, tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert list(loaded) == list(state) and all(isinstance(v, np.ndarray) for v in loaded.values())
    target.load_state_dict(loaded)
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


def test_optimizer_state_dict_round_trip(tmp_path):
    weight = nn.Parameter(cr.tensor([1.0, -2.0, 3.0]))
    opt = optim.Adam([{"params": [weight], "lr": 0.1}], amsgrad=True)
    for _ in range(3):
        opt.zero_grad()
        (weight ** 2).sum().backward()
        opt.step()
    save(opt.state_dict(), tmp_path / "opt.npz")
    loaded = load(tmp_path / "opt.npz")
    state = opt.state_dict()
    assert list(loaded["state"]) == [0] and loaded["state"][0]["step"] == 3
    assert loaded["param_groups"] == state["param_groups"] and loaded["param_groups"][0]["betas"] == (0.9, 0.999)
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        np.testing.assert_array_equal(loaded["state"][0][key], state["state"][0][key])
    fresh = optim.Adam([weight])
    fresh.load_state_dict(loaded)
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.state[weight]["step"] == 3


def test_save_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.npz"
    save({"version": 1}, path)
    save({"version": 2}, str(path))
    assert load(path) == {"version": 2}
    assert os.listdir(tmp_path) == ["state.npz"]
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert path.stat().st_mode == plain.stat().st_mode  # the usual permissions, not a temp file's 0600


def test_an_interrupted_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    save({"weights": np.arange(4.0), "epoch": 1}, path)
    before = path.read_bytes()
    real_open = zipfile.ZipFile.open
    calls = []

    def failing_open(self, name, mode="r", *args, **kwargs):
        calls.append(name)
        if mode == "w" and len(calls) > 1:  # the first array is written, then the disk "fails"
            raise OSError("No space left on device")
        return real_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", failing_open)
    with pytest.raises(OSError, match="No space left"):
        save({"weights": np.arange(8.0), "bias": np.zeros(2), "epoch": 2}, path)
    monkeypatch.undo()
    assert len(calls) == 2 and path.read_bytes() == before
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    assert load(path)["epoch"] == 1


def test_unsaveable_values_raise_errors_that_say_where(tmp_path):
    with pytest.raises(SerializationError, match=r"^save: obj\['model'\]\['w'\] cannot be saved; .* got set\."):
        save({"model": {"w": {1, 2}}}, tmp_path / "bad.npz")
    with pytest.raises(SerializationError, match=r"^save: obj\[1\] is an array of Python objects"):
        save([1, np.array([None, 1], dtype=object)], tmp_path / "bad.npz")
    with pytest.raises(SerializationError, match=r"^save: obj\[1\]\[2\] cannot be saved"):
        save({1: {2: object()}}, tmp_path / "bad.npz")
    with pytest.raises(SerializationError, match=r"has a key of type tuple"):
        save({(1, 2): 3}, tmp_path / "bad.npz")
    assert not os.listdir(tmp_path)


def test_truncated_file_gives_an_error_naming_it(tmp_path):
    path = tmp_path / "state.npz"
    save({"w": np.random.default_rng(0).standard_normal(1000)}, path)
    data = path.read_bytes()
    for size in (len(data) // 2, len(data) - 10, 2, 0):
        path.write_bytes(data[:size])
        with pytest.raises(SerializationError, match=r"^load: '.*state\.npz' is truncated"):
            load(path)


def test_corrupt_bytes_give_an_error_naming_the_file(tmp_path):
    path = tmp_path / "state.npz"
    save({"w": np.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's data: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match=r"^load: '.*state\.npz' is truncated or corrupt"):
        load(path)


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("write", [
    lambda path: path.write_text("not a checkpoint"),
    lambda path: path.write_bytes(_npy_bytes(np.ones(3))),
    lambda path: np.savez(path, weights=np.ones(3)),
])
def test_foreign_files_are_refused(tmp_path, write):
    path = tmp_path / "other.npz"
    write(path)
    with pytest.raises(SerializationError, match=r"^load: '.*other\.npz' was not written by chainrule\.save"):
        load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


@pytest.mark.parametrize("manifest, message", [
    ('{"format": "chainrule.save", "version": 1, "root": {"t": "array", "v": "a9"}}', "has a damaged manifest"),
    ('{"format": "chainrule.save", "version": 1, "root": {"t": "int", "v": "7"}}', "has a damaged manifest"),
    ('{"format": "chainrule.save", "version": 1, "root"', "has a damaged manifest; expected JSON text"),
    ('{"format": "chainrule.save", "version": 99, "root": {"t": "none"}}',
     "uses format version 99; expected version 1"),
    ('{"format": "other", "version": 1, "root": {"t": "none"}}', "was not written by chainrule.save"),
])
def test_bad_manifests_are_reported(tmp_path, manifest, message):
    path = tmp_path / "odd.npz"
    np.savez(path, __chainrule__=np.frombuffer(manifest.encode(), dtype=np.uint8))
    with pytest.raises(SerializationError, match=rf"^load: '.*odd\.npz' {message}"):
        load(path)
