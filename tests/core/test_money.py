"""Minor units (int64 cents) <-> Arrow decimal128(18, 2), exactly and without floats."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor, minor_from_decimal

LIMIT = 10**18 - 1  # decimal128(18, 2) holds 18 digits: +-9,999,999,999,999,999.99

minor_arrays = arrays(
    np.int64,
    st.integers(0, 60),
    elements=st.one_of(
        st.integers(-LIMIT, LIMIT),
        st.integers(-1000, 1000),
        st.sampled_from([LIMIT, -LIMIT, 0, 1, -1, 99, -99, 100, -100]),
    ),
)


@settings(deadline=None)  # timing varies on shared CI machines
@given(minor_arrays)
def test_roundtrip_is_exact(values: np.ndarray) -> None:
    array = decimal_from_minor(values)
    assert array.type == AMOUNT_TYPE
    assert len(array) == values.size
    assert array.null_count == 0
    back = minor_from_decimal(array)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, values)


@settings(deadline=None)  # timing varies on shared CI machines
@given(minor_arrays)
def test_arrow_values_are_the_amounts_in_currency_units(values: np.ndarray) -> None:
    array = decimal_from_minor(values)
    # check a few rows through Python's Decimal, an implementation independent of ours
    for i in range(min(values.size, 5)):
        x = int(values[i])
        assert array[i].as_py() == Decimal(x) / 100
    assert array.to_pylist() == [Decimal(int(x)) / 100 for x in values]


def test_known_values() -> None:
    array = decimal_from_minor(np.array([0, 1, -1, 12345, -12345, LIMIT, -LIMIT]))
    assert array.to_pylist() == [
        Decimal("0.00"),
        Decimal("0.01"),
        Decimal("-0.01"),
        Decimal("123.45"),
        Decimal("-123.45"),
        Decimal("9999999999999999.99"),
        Decimal("-9999999999999999.99"),
    ]
    assert array.validate(full=True) is None


def test_inverse_reads_arrow_built_decimals_slices_and_chunks() -> None:
    decimals = [Decimal("1.23"), Decimal("-0.05"), Decimal("1000000.00"), Decimal("-7.10")]
    built = pa.array(decimals, type=AMOUNT_TYPE)
    np.testing.assert_array_equal(minor_from_decimal(built), [123, -5, 100_000_000, -710])
    np.testing.assert_array_equal(minor_from_decimal(built.slice(1, 2)), [-5, 100_000_000])
    chunked = pa.chunked_array([built.slice(0, 1), built.slice(2)])
    np.testing.assert_array_equal(minor_from_decimal(chunked), [123, 100_000_000, -710])


def test_nulls_are_rejected() -> None:
    with pytest.raises(ValueError, match="null"):
        minor_from_decimal(pa.array([Decimal("1.00"), None], type=AMOUNT_TYPE))


def test_empty_array() -> None:
    array = decimal_from_minor(np.array([], dtype=np.int64))
    assert len(array) == 0
    assert minor_from_decimal(array).size == 0


@pytest.mark.parametrize(
    "bad",
    [LIMIT + 1, -(LIMIT + 1), np.iinfo(np.int64).max, np.iinfo(np.int64).min],
    ids=["limit+1", "-(limit+1)", "int64-max", "int64-min"],
)
def test_overflow_raises(bad: int) -> None:
    with pytest.raises(OverflowError):
        decimal_from_minor(np.array([0, bad, 5], dtype=np.int64))
