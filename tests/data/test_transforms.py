"""Each augmentation does what it says on whole batches: geometry against NumPy, statistics, seeds."""

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.transforms import (AddNoise, Compose, ElasticDistortion, FrequencyMasking, GaussianNoise,
                                       Normalize, RandomAffine, RandomCrop, RandomHorizontalFlip,
                                       RandomRotation, TimeMasking, TimeShift)
from chainrule.errors import ChainruleError, ShapeError


def images(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def shifted(image, dy, dx, fill=0.0):
    """``image`` moved down by dy and right by dx, with ``fill`` where nothing moved in."""
    out = np.roll(image, (dy, dx), axis=(-2, -1))
    if dy > 0:
        out[..., :dy, :] = fill
    elif dy < 0:
        out[..., dy:, :] = fill
    if dx > 0:
        out[..., :, :dx] = fill
    elif dx < 0:
        out[..., :, dx:] = fill
    return out


# --- flips and warps -----------------------------------------------------------------------------
def test_flip_with_p_one_flips_every_image_and_twice_is_identity():
    x = images(4, 3, 5, 6)
    flip = RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(flip(x), x[..., ::-1])
    np.testing.assert_array_equal(flip(flip(x)), x)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)


def test_flip_with_p_half_flips_some_whole_images():
    x = images(200, 4, 5)
    out = RandomHorizontalFlip(p=0.5, seed=0)(x)
    flipped = (out == x[..., ::-1]).all(axis=(1, 2))
    kept = (out == x).all(axis=(1, 2))
    assert (flipped ^ kept).all()
    assert 0.35 < flipped.mean() < 0.65


def test_rotation_by_90_degrees_matches_rot90():
    x = images(3, 2, 7, 7)
    np.testing.assert_allclose(RandomRotation((90, 90))(x), np.rot90(x, 1, axes=(-2, -1)), atol=1e-6)
    np.testing.assert_allclose(RandomRotation((-90, -90))(x[:, 0]), np.rot90(x[:, 0], -1, axes=(-2, -1)),
                               atol=1e-6)


def test_rotation_by_zero_is_identity_and_random_angles_differ_per_sample():
    x = images(4, 9, 9)
    np.testing.assert_allclose(RandomRotation(0)(x), x, atol=1e-6)
    same = np.repeat(x[:1], 4, axis=0)
    out = RandomRotation(30, fill=-1.0, seed=0)(same)
    assert not np.allclose(out[0], out[1])
    assert (out == -1.0).any()  # corners come from outside the image


def test_affine_translation_by_whole_pixels_shifts_with_fill():
    x = images(16, 2, 10, 10) + 1.0
    out = RandomAffine(0, translate=(0.2, 0.3), fill=-5.0, seed=1)(x)
    moves = []
    for i in range(len(x)):
        matches = [(dy, dx) for dy in range(-3, 4) for dx in range(-2, 3)
                   if np.allclose(out[i], shifted(x[i], dy, dx, fill=-5.0), atol=1e-6)]
        assert len(matches) == 1, f"sample {i} is not a whole-pixel shift within the range"
        moves.append(matches[0])
    assert len(set(moves)) > 3


def test_affine_scale_zooms_about_the_centre():
    x = images(2, 9, 9)
    out = RandomAffine(0, scale=(2.0, 2.0))(x)
    # Zooming by 2 about pixel (4, 4): output pixel 4 + 2k shows input pixel 4 + k.
    np.testing.assert_allclose(out[:, ::2, ::2][:, 0:5, 0:5], x[:, 2:7, 2:7], atol=1e-6)


def test_affine_shear_slides_each_row_by_its_offset_from_the_centre_row():
    x = images(2, 7, 9) + 1.0
    out = RandomAffine(0, shear=(45, 45))(x)  # tan(45 degrees) = 1: one pixel per row
    for row in range(7):
        np.testing.assert_allclose(out[:, row], shifted(x[:, row], 0, row - 3), atol=1e-6)


def test_elastic_distortion_alpha_zero_is_identity():
    x = images(3, 2, 12, 12)
    np.testing.assert_allclose(ElasticDistortion(alpha=0.0, sigma=3.0, seed=0)(x), x, atol=1e-6)


def test_elastic_distortion_moves_pixels_but_keeps_mass_and_shares_the_field_across_channels():
    blob = np.zeros((28, 28), np.float32)
    blob[9:19, 11:17] = 1.0
    x = np.stack([np.stack([blob, blob])] * 64)  # (64, 2, 28, 28)
    out = ElasticDistortion(alpha=34.0, sigma=4.0, seed=0)(x)
    assert np.abs(out - x).max() > 0.5
    # Locally the field stretches or squeezes the blob; on average over fields the mass stays.
    mass = out.sum(axis=(-2, -1)) / blob.sum()
    assert mass.mean() == pytest.approx(1.0, abs=0.05)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    assert not np.allclose(out[0], out[1])


def test_random_crop_of_original_size_returns_windows_of_the_padded_image():
    x = images(20, 3, 6, 5)
    pad = 2
    out = RandomCrop((6, 5), padding=pad, seed=0)(x)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = []
    for i in range(len(x)):
        found = [(t, l) for t in range(2 * pad + 1) for l in range(2 * pad + 1)
                 if np.array_equal(out[i], padded[i, :, t:t + 6, l:l + 5])]
        assert found, f"sample {i} is no window of the padded image"
        offsets.append(found[0])
    assert len(set(offsets)) > 5


def test_random_crop_without_padding_cuts_a_window_and_checks_its_size():
    x = np.arange(2 * 8 * 8).reshape(2, 8, 8)
    out = RandomCrop(3, seed=0)(x)
    assert out.shape == (2, 3, 3) and out.dtype == x.dtype
    for image, crop in zip(x, out):
        top, left = np.argwhere(image == crop[0, 0])[0]
        np.testing.assert_array_equal(crop, image[top:top + 3, left:left + 3])
    with pytest.raises(ShapeError, match=r"RandomCrop\(size=\(9, 9\).*expected size <= \(8, 8\), got"):
        RandomCrop(9)(x)


# --- noise, normalisation, composition -----------------------------------------------------------
def test_gaussian_noise_has_the_asked_statistics():
    x = images(50, 40, 40)
    noise = GaussianNoise(std=0.3, seed=0)(x) - x
    assert abs(noise.mean()) < 0.01
    assert noise.std() == pytest.approx(0.3, rel=0.02)


def test_normalize_gives_zero_mean_and_unit_std_per_channel():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 3, 8, 8)) * [[[[1.0]], [[5.0]], [[0.2]]]] + [[[[2.0]], [[-3.0]], [[7.0]]]])
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1.0, rtol=1e-10)
    with pytest.raises(ShapeError, match=r"Normalize\(.*mean does not fit the channels; expected 1 or 2 values"):
        Normalize(mean, std)(x[:, :2])


def test_compose_applies_transforms_in_order():
    x = images(2, 3, 3)
    composed = Compose([lambda b: b + 1.0, Normalize(mean=0.0, std=0.5)])
    np.testing.assert_allclose(composed(x), (x + 1.0) * 2.0, rtol=1e-6)
    reversed_ = Compose([Normalize(mean=0.0, std=0.5), lambda b: b + 1.0])
    np.testing.assert_allclose(reversed_(x), x * 2.0 + 1.0, rtol=1e-6)


# --- audio ---------------------------------------------------------------------------------------
def test_time_shift_moves_a_spike_by_the_drawn_amount():
    n, length, at = 40, 100, 50
    x = np.zeros((n, length), np.float32)
    x[:, at] = 1.0
    out = TimeShift(10, seed=0)(x)
    assert (out.sum(axis=1) == 1).all()
    moves = np.argmax(out, axis=1) - at
    # One whole-sample shift per waveform, uniform on [-max_shift, max_shift], positive = later.
    np.testing.assert_array_equal(moves, np.random.default_rng(0).integers(-10, 11, size=n))
    assert len(set(moves.tolist())) > 5


def test_time_shift_with_zeros_drops_what_falls_off_and_shares_the_shift_across_channels():
    n, length = 30, 50
    x = np.zeros((n, 2, length), np.float32)
    x[:, 0, 0] = 1.0  # a spike at the start marks the shift
    x[:, 1] = 1.0  # a constant channel shows the zeros shifted in
    out = TimeShift(8, mode="zeros", seed=1)(x)
    for i in range(n):
        line = out[i, 1]
        if out[i, 0].any():
            shift = int(np.argmax(out[i, 0]))
            np.testing.assert_array_equal(line, np.r_[np.zeros(shift), np.ones(length - shift)])
        else:  # a negative shift pushed the spike off the start
            zeros = length - int(line.sum())
            assert 1 <= zeros <= 8
            np.testing.assert_array_equal(line, np.r_[np.ones(length - zeros), np.zeros(zeros)])
    np.testing.assert_array_equal(TimeShift(5, mode="roll", seed=1)(x).sum(axis=-1), x.sum(axis=-1))


def test_add_noise_reaches_the_asked_signal_to_noise_ratio():
    t = np.linspace(0, 1, 8000)
    x = np.stack([np.sin(2 * np.pi * 50 * t), 3.0 * np.sin(2 * np.pi * 80 * t)])
    noise = AddNoise(snr_db=10.0, seed=0)(x) - x
    snr = 10 * np.log10((x ** 2).mean(axis=1) / (noise ** 2).mean(axis=1))
    np.testing.assert_allclose(snr, 10.0, atol=0.3)


@pytest.mark.parametrize("transform, across", [(FrequencyMasking, 1), (TimeMasking, 0)])
def test_masks_zero_exactly_one_band_of_at_most_max_width(transform, across):
    x = np.ones((100, 20, 30), np.float32)
    out = transform(max_width=6, seed=0)(x)
    widths = []
    for spectrogram in out:
        lines = (spectrogram == 0).all(axis=across)  # whole rows (frequency) or columns (time)
        assert ((spectrogram == 0) == np.expand_dims(lines, across)).all()
        where = np.flatnonzero(lines)
        assert len(where) == 0 or where[-1] - where[0] + 1 == len(where)  # one contiguous band
        widths.append(len(where))
    assert max(widths) <= 6 and len(set(widths)) > 3
    with pytest.raises(ShapeError, match=r"expected max_width <= 20, got batch shape"):
        FrequencyMasking(max_width=21)(x)


# --- common behaviour ----------------------------------------------------------------------------
RANDOM = [
    (lambda **kw: RandomHorizontalFlip(0.5, **kw), (8, 3, 6, 6)),
    (lambda **kw: RandomRotation(20, **kw), (8, 3, 6, 6)),
    (lambda **kw: RandomAffine(10, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10, **kw), (8, 6, 6)),
    (lambda **kw: ElasticDistortion(8.0, 2.0, **kw), (8, 6, 6)),
    (lambda **kw: RandomCrop(5, padding=2, **kw), (8, 3, 6, 6)),
    (lambda **kw: GaussianNoise(0.1, **kw), (8, 6, 6)),
    (lambda **kw: TimeShift(5, **kw), (8, 30)),
    (lambda **kw: AddNoise((5.0, 20.0), **kw), (8, 30)),
    (lambda **kw: FrequencyMasking(4, **kw), (8, 10, 12)),
    (lambda **kw: TimeMasking(4, **kw), (8, 10, 12)),
]
IDS = ["flip", "rotation", "affine", "elastic", "crop", "gaussian_noise", "time_shift", "add_noise",
       "frequency_masking", "time_masking"]


@pytest.mark.parametrize("make, shape", RANDOM, ids=IDS)
def test_seeded_transforms_reproduce_exactly(make, shape):
    x = images(*shape)
    first, second = make(seed=7), make(seed=7)
    a, b = first(x), second(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(make(rng=np.random.default_rng(7))(x), a)
    assert not np.array_equal(first(x), a)  # the transform's generator moves on
    cr.manual_seed(3)
    c = make()(x)
    cr.manual_seed(3)
    np.testing.assert_array_equal(make()(x), c)


@pytest.mark.parametrize("make, shape", RANDOM + [(lambda: Normalize(0.5, 0.25), (4, 3, 5, 5))],
                         ids=IDS + ["normalize"])
def test_tensor_in_tensor_out_keeps_float32_and_leaves_the_input_alone(make, shape):
    x = images(*shape)
    kept = x.copy()
    out = make()(cr.tensor(x))
    assert isinstance(out, cr.Tensor) and out.dtype == np.float32
    assert isinstance(make()(x), np.ndarray)
    np.testing.assert_array_equal(x, kept)


@pytest.mark.parametrize("transform, shape, expected", [
    (RandomHorizontalFlip(), (5, 5), r"RandomHorizontalFlip\(p=0.5\): wrong batch shape; expected an image "
                                     r"batch \(N, H, W\) or \(N, C, H, W\), got shape \(5, 5\)"),
    (RandomRotation(10), (2, 1, 1, 5, 5), r"RandomRotation\(degrees=\(-10.0, 10.0\), fill=0.0\): .*expected"),
    (ElasticDistortion(), (5, 5), r"ElasticDistortion\(alpha=34.0, sigma=4.0, fill=0.0\): .*got shape"),
    (TimeShift(3), (4,), r"TimeShift\(max_shift=3, mode='roll'\): .*expected a waveform batch"),
    (TimeMasking(3), (4, 5), r"TimeMasking\(max_width=3, num_masks=1\): .*expected a spectrogram batch"),
    (AddNoise(10.0), (4,), r"AddNoise\(snr_db=\(10.0, 10.0\)\): .*got shape \(4,\)"),
])
def test_bad_shapes_name_the_transform(transform, shape, expected):
    with pytest.raises(ShapeError, match=expected):
        transform(np.zeros(shape, np.float32))


def test_bad_options_are_refused():
    with pytest.raises(ShapeError, match=r"RandomHorizontalFlip: probability out of range"):
        RandomHorizontalFlip(p=1.5)
    with pytest.raises(ShapeError, match=r"RandomAffine: bad translate"):
        RandomAffine(0, translate=(2.0, 0.0))
    with pytest.raises(ChainruleError, match=r"both seed and rng"):
        GaussianNoise(0.1, seed=0, rng=np.random.default_rng(0))


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.ndimage", None)
    with pytest.raises(ChainruleError, match=r"RandomRotation: .*pip install chainrule\[augment\]"):
        RandomRotation(10)(images(2, 4, 4))
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(images(2, 4, 4)), images(2, 4, 4)[..., ::-1])
