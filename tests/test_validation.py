"""Tests for diffedu._validation and its torch-free half: conversions and their error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from diffedu import _validation, _validation_scalars


def test_scalar_checks_are_the_ones_re_exported():
    """_validation re-exports the torch-free scalar checks: one definition of each."""
    for name in ("as_float", "as_int", "check_positive", "check_open_unit", "check_time"):
        assert getattr(_validation, name) is getattr(_validation_scalars, name)


@pytest.mark.parametrize(
    "value",
    [2.5, 2, np.float64(2.5), np.array(2.5), np.array([2.5]), torch.tensor(2.5), torch.ones(1, 1)],
)
def test_as_float_accepts_numbers_and_one_element_arrays(value):
    """Numbers, numpy scalars and one-element arrays or tensors become a Python float."""
    out = _validation_scalars.as_float(value, "x")
    assert type(out) is float and out == float(np.asarray(value).item())


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (True, TypeError, "x must be a real number; got bool"),
        ("1.0", TypeError, "x must be a real number; got str"),
        (None, TypeError, "x must be a real number; got NoneType"),
        (1 + 2j, TypeError, "x must be a real number; got complex"),
        (torch.ones(2), ValueError, r"x must be a scalar; got a tensor of shape \(2,\)"),
        (np.ones((2, 3)), ValueError, r"x must be a scalar; got a tensor of shape \(2, 3\)"),
        (math.inf, ValueError, "x must be finite; got inf"),
        (torch.tensor(math.nan), ValueError, "x must be finite; got nan"),
    ],
)
def test_as_float_rejects_by_name(value, error, match):
    """Booleans, strings, None, complex numbers, arrays of several values and non-finite values."""
    with pytest.raises(error, match=match):
        _validation_scalars.as_float(value, "x")


def test_as_int_accepts_integral_scalars_and_rejects_the_rest():
    """ints and one-element integer arrays pass; floats, booleans and bounds violations fail."""
    for value in (3, np.int64(3), np.array(3), torch.tensor(3), torch.tensor([3])):
        out = _validation_scalars.as_int(value, "n", minimum=1)
        assert type(out) is int and out == 3
    for value in (3.0, True, torch.tensor(3.0), torch.tensor(True), "3", None, torch.ones(2)):
        with pytest.raises(TypeError, match="n must be an integer"):
            _validation_scalars.as_int(value, "n")
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        _validation_scalars.as_int(0, "n", minimum=1)


def test_range_checks_name_the_bound():
    """check_positive, check_nonnegative, check_at_least, check_open_unit and check_time."""
    v = _validation_scalars
    assert v.check_positive(1e-300, "a") == 1e-300 and v.check_nonnegative(0, "a") == 0.0
    assert v.check_at_least(1, "d", 1) == 1.0 and v.check_open_unit(0.5, "p") == 0.5
    assert v.check_time(0.0) == 0.0 and v.check_time(2, positive=True) == 2.0
    cases = [
        (v.check_positive, (0.0, "a"), "a must be > 0; got 0.0"),
        (v.check_nonnegative, (-1.0, "a"), "a must be >= 0; got -1.0"),
        (v.check_at_least, (0.5, "d", 1), "d must be >= 1; got 0.5"),
        (v.check_open_unit, (1.0, "p"), r"p must lie in \(0, 1\); got 1.0"),
        (v.check_time, (-0.1,), "t must be >= 0"),
        (v.check_time, (0.0, "t", True), "t must be > 0"),
    ]
    for fn, args, match in cases:
        with pytest.raises(ValueError, match=match):
            fn(*args)


def test_as_1d_reads_column_and_scalar_inputs():
    """(n,), (n, 1) and scalars become finite float64 (n,); other shapes and empties fail."""
    column = torch.arange(3, dtype=torch.float32)[:, None]
    torch.testing.assert_close(
        _validation.as_1d(column, "x"), torch.tensor([0.0, 1.0, 2.0]).double()
    )
    assert _validation.as_1d(2.0, "x").tolist() == [2.0]
    assert _validation.as_1d([], "x", allow_empty=True).shape == (0,)
    with pytest.raises(ValueError, match=r"x must have shape \(n,\) or \(n, 1\) with n >= 1"):
        _validation.as_1d([], "x")
    with pytest.raises(ValueError, match="x must have shape"):
        _validation.as_1d(torch.zeros(3, 2), "x")
    with pytest.raises(ValueError, match="x must be finite"):
        _validation.as_1d([0.0, math.inf], "x")


def test_as_generator_turns_seeds_into_cpu_generators():
    """An int seed gives a CPU generator with that seed; generators and None pass through."""
    g = torch.Generator().manual_seed(5)
    assert _validation.as_generator(g) is g and _validation.as_generator(None) is None
    made = _validation.as_generator(7)
    assert made.device.type == "cpu" and made.initial_seed() == 7
    with pytest.raises(ValueError, match="generator must be >= 0"):
        _validation.as_generator(-1)
    with pytest.raises(TypeError, match="generator must be an integer"):
        _validation.as_generator(1.5)


def test_entry_checks_report_the_smallest_entry():
    """check_positive_entries and check_nonnegative_entries pass good tensors and name the rest."""
    x = torch.tensor([0.5, 0.0, 2.0])
    assert _validation.check_nonnegative_entries(x, "t") is x
    with pytest.raises(ValueError, match=r"t must be > 0; got min 0\.0"):
        _validation.check_positive_entries(x, "t")
    with pytest.raises(ValueError, match=r"t must be >= 0; got min -1\.0"):
        _validation.check_nonnegative_entries(x - 1.0, "t")
    assert _validation.check_positive_entries(torch.empty(0), "t").numel() == 0
