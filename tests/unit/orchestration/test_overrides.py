"""Run overrides from the trigger form (string), dag_run.conf (list or string) and the data interval."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin_core.orchestration.overrides import parse_overrides, run_overrides, window_overrides

W = {"start": "crawl.window_start", "end": "crawl.window_end"}
JAN4, JAN11 = datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)


def test_string_is_split_like_a_shell() -> None:
    assert parse_overrides("a=1 'b.c=two words' +d=x") == ["a=1", "b.c=two words", "+d=x"]


def test_list_is_kept_and_blanks_dropped() -> None:
    assert parse_overrides(["a=1", " ", "b=two words"]) == ["a=1", "b=two words"]


def test_bad_types_and_quotes_name_where_they_came_from() -> None:
    with pytest.raises(ValueError, match=r"conf: expected a string or a list of strings, got \{'a': 1\}"):
        parse_overrides({"a": 1}, where="conf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"params\.overrides: cannot split \"a='b\""):
        parse_overrides("a='b", where="params.overrides")


def test_dag_run_conf_wins_over_params() -> None:
    assert run_overrides({"overrides": ["x=1"]}, {"overrides": "y=2"}) == ["x=1"]
    assert run_overrides({"overrides": "x=1 z=3"}, {"overrides": "y=2"}) == ["x=1", "z=3"]


def test_params_when_conf_has_no_overrides() -> None:
    assert run_overrides({"other": 1}, {"overrides": "y=2"}) == ["y=2"]
    assert run_overrides(None, None) == []


def test_window_renders_iso_bounds() -> None:
    assert window_overrides(W, JAN4, JAN11) == [
        "crawl.window_start=2026-01-04T00:00:00+00:00",
        "crawl.window_end=2026-01-11T00:00:00+00:00",
    ]


def test_no_window_without_keys_or_a_real_interval() -> None:
    assert window_overrides(None, JAN4, JAN11) == []
    assert window_overrides(W, None, None) == []  # a manual run without a logical date
    assert window_overrides(W, JAN4, JAN4) == []  # a zero-length (trigger) interval: crawl everything
