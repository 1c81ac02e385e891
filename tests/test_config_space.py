"""The configuration space: defaults, enumeration, parsing, validation (incl. property tests)."""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtopt.errors import DtoptError
from dtopt.twin.config_search import Configuration, ConfigurationSpace


def test_defaults_bracket_the_paper_setting() -> None:
    space = ConfigurationSpace()
    assert len(space) == 128
    assert space.protocols == ("IBFT", "BigFoot")
    assert space.max_block_sizes_mb == (0.5, 1.0, 2.0, 4.0)
    assert space.min_block_intervals_s == (0.1, 0.5, 1.0, 2.0)
    assert space.round_timeouts_s == (3.0, 5.0, 10.0, 20.0)
    assert Configuration("IBFT", 1.0, 0.1, 10.0) in space.configurations()


def test_enumeration_is_protocol_major_and_records_match_arrays() -> None:
    space = ConfigurationSpace.parse("protocol=IBFT,BigFoot;block=1,2;interval=0.1;timeout=5,10,20")
    records = space.configurations()
    assert records[0] == Configuration("IBFT", 1.0, 0.1, 5.0)
    assert records[1] == Configuration("IBFT", 1.0, 0.1, 10.0)
    assert records[-1] == Configuration("BigFoot", 2.0, 0.1, 20.0)
    batch = space.batch()
    assert list(batch) == list(records)
    assert [space.index(c) for c in records] == list(range(len(space)))
    np.testing.assert_array_equal(batch.round_timeout_s, [5, 10, 20] * 4)
    sub = space.batch([11, 0])
    assert list(sub) == [records[11], records[0]]
    np.testing.assert_array_equal(sub.indices, [11, 0])
    with pytest.raises(ValueError):  # read-only arrays: a batch cannot be changed under a search
        batch.max_block_size_mb[0] = 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.protocols = ("IBFT",)  # type: ignore[misc]


def test_parse_defaults_aliases_and_canonical_names() -> None:
    space = ConfigurationSpace.parse(" protocols = ibft ; block_mb=0.5, 2 ;timeout_s=5;")
    assert space.protocols == ("IBFT",)
    assert space.max_block_sizes_mb == (0.5, 2.0)
    assert space.min_block_intervals_s == ConfigurationSpace().min_block_intervals_s
    assert space.round_timeouts_s == (5.0,)
    assert ConfigurationSpace.parse(space.spec()) == space


def test_scenario_file_section() -> None:
    section = tomllib.loads('[space]\nprotocol = ["BigFoot"]\nblock = [1, 2]\ntimeout = "5,10"\n')["space"]
    space = ConfigurationSpace.from_mapping(section)
    assert len(space) == 1 * 2 * 4 * 2
    assert space.to_dict()["round_timeouts_s"] == [5.0, 10.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty specification"),
        (" ; ", "empty specification"),
        ("block=1,2,1.0", "duplicate block sizes: 1.0"),
        ("protocol=IBFT,ibft", "duplicate protocols"),
        ("timeout=0", "round timeouts must be finite numbers > 0"),
        ("interval=-0.1", "block intervals must be finite numbers > 0"),
        ("block=inf", "block sizes must be finite"),
        ("block=nan", "block sizes must be finite"),
        ("block=1MB", "block sizes must be numbers"),
        ("timeout=", "empty value"),
        ("timeout=5,,10", "empty value"),
        ("protocol=PBFT", "unknown protocol 'PBFT'"),
        ("size=1", "unknown key 'size'"),
        ("block", "is not key=value"),
        ("block=1;block=2", "given twice"),
        ("block=1;max_block_size_mb=2", "given twice"),
    ],
)
def test_bad_text_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(DtoptError, match=message) as err:
        ConfigurationSpace.parse(text)
    assert "\n" not in str(err.value)


def test_bad_lists() -> None:
    with pytest.raises(DtoptError, match="no block sizes given"):
        ConfigurationSpace(max_block_sizes_mb=())
    with pytest.raises(DtoptError, match="must be a list"):
        ConfigurationSpace(round_timeouts_s="5,10")  # type: ignore[arg-type]
    with pytest.raises(DtoptError, match="must be finite numbers > 0"):
        ConfigurationSpace(round_timeouts_s=(True,))  # type: ignore[arg-type]
    with pytest.raises(DtoptError, match="more than the"):
        ConfigurationSpace(max_block_sizes_mb=tuple(range(1, 400)), round_timeouts_s=tuple(range(1, 400)))
    with pytest.raises(DtoptError, match="not in the space"):
        ConfigurationSpace().index(Configuration("IBFT", 3.0, 0.1, 10.0))
    with pytest.raises(DtoptError, match="expected a table"):
        ConfigurationSpace.from_mapping(["block", "1"])  # type: ignore[arg-type]


def test_validate_against_the_message_model() -> None:
    space = ConfigurationSpace.parse("block=0.004,1;timeout=0.5,10")
    with pytest.raises(DtoptError, match=r"block size 0\.004 MB holds no transaction of 0\.005 MB"):
        space.validate_against(tx_size_mb=0.005, min_message_delay_s=0.1)
    with pytest.raises(DtoptError, match=r"round timeout 0\.5 s is not longer than one message delay"):
        space.validate_against(tx_size_mb=0.001, min_message_delay_s=0.5)
    assert space.validate_against(tx_size_mb=0.004, min_message_delay_s=0.3) is space
    with pytest.raises(DtoptError, match="tx_size_mb must be a finite number > 0"):
        space.validate_against(tx_size_mb=float("nan"), min_message_delay_s=0.3)


_TOKENS = st.sampled_from(
    ["protocol", "protocols", "block", "interval", "timeout", "ibft", "BigFoot", "PBFT", "=", ",", ";",
     "0", "1", "2.5", "-1", "1e9", "1e999", "nan", "inf", " ", "", "x"]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_TOKENS, max_size=20).map("".join)))
def test_parse_returns_a_space_or_dtopt_error(text: str) -> None:
    try:
        space = ConfigurationSpace.parse(text)
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert len(space) >= 1
    assert ConfigurationSpace.parse(space.spec()) == space


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**400), st.text(max_size=5),
    st.booleans(), st.none(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["IBFT", "bigfoot", "PBFT", "", 3]), max_size=3),
    st.lists(_VALUES, max_size=4), st.lists(_VALUES, max_size=4), st.lists(_VALUES, max_size=4),
)
def test_lists_give_a_valid_space_or_dtopt_error(protocols, sizes, intervals, timeouts) -> None:
    try:
        space = ConfigurationSpace(tuple(protocols), tuple(sizes), tuple(intervals), tuple(timeouts))
    except DtoptError as err:
        assert str(err) and "\n" not in str(err)
        return
    arrays = space.batch()
    assert len(arrays) == len(space) == len(protocols) * len(sizes) * len(intervals) * len(timeouts)
    for values in (arrays.max_block_size_mb, arrays.min_block_interval_s, arrays.round_timeout_s):
        assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert ConfigurationSpace.parse(space.spec()) == space
