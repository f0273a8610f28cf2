"""The protobuf text-format reader/writer behind every rendered ``config.pbtxt``."""

from __future__ import annotations

import pytest

from twin_core.serving import pbtxt
from twin_core.serving.model_configs import TEMPLATES
from twin_core.serving.pbtxt import Ident, PbtxtError

TEXT = """
# a comment
name: "m\\"x"   # trailing comment
max_batch_size: 4
model_transaction_policy { decoupled: true }
dynamic_batching: { preferred_batch_size: [ 2, 4 ], max_queue_delay_microseconds: 100 }
instance_group [ { kind: KIND_CPU, count: 2 } ]
input [
  { name: "a", data_type: TYPE_FP32, dims: [ -1 ], reshape: { shape: [ ] }, optional: true }
]
parameters { key: "k1", value: { string_value: "v1" } }
parameters: { key: "k2" value { string_value: "0.5" } }
"""


def test_parse_reads_scalars_enums_lists_and_repeated_fields() -> None:
    msg = pbtxt.parse(TEXT)
    assert msg["name"] == 'm"x' and msg["max_batch_size"] == 4
    assert msg["model_transaction_policy"] == {"decoupled": True}
    assert msg["dynamic_batching"] == {"preferred_batch_size": [2, 4], "max_queue_delay_microseconds": 100}
    assert msg["instance_group"] == [{"kind": "KIND_CPU", "count": 2}]
    assert isinstance(msg["instance_group"][0]["kind"], Ident)
    assert msg["input"][0]["dims"] == [-1] and msg["input"][0]["reshape"] == {"shape": []}
    assert pbtxt.params(msg) == {"k1": "v1", "k2": "0.5"}  # two `parameters` blocks -> one list


def test_dump_round_trips_and_is_a_valid_triton_model_config() -> None:
    msg = pbtxt.parse(TEXT)
    text = pbtxt.dump(msg, header="line one\nline two")
    assert text.startswith("# line one\n# line two\n")
    assert pbtxt.parse(text) == msg
    proto = pbtxt.validate(text)
    assert proto is not None and proto.name == 'm"x' and proto.instance_group[0].count == 2
    assert list(proto.dynamic_batching.preferred_batch_size) == [2, 4]
    assert proto.parameters["k2"].string_value == "0.5"


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*/config.pbtxt")), ids=lambda p: p.parent.name)
def test_every_template_parses_and_round_trips(path: object) -> None:
    text = path.read_text()  # type: ignore[attr-defined]
    msg = pbtxt.parse(text)
    assert pbtxt.parse(pbtxt.dump(msg)) == msg
    assert pbtxt.validate(pbtxt.dump(msg)) is not None


def test_patch_replaces_top_level_fields_and_none_deletes() -> None:
    msg = pbtxt.parse(TEXT)
    out = pbtxt.patch(msg, {"version_policy": {"specific": {"versions": [3]}}, "dynamic_batching": None})
    assert "dynamic_batching" not in out and out["version_policy"] == {"specific": {"versions": [3]}}
    assert list(out)[:2] == ["name", "max_batch_size"] and "dynamic_batching" in msg  # order kept, input untouched


def test_with_params_sets_appends_drops_and_writes_booleans_lowercase() -> None:
    out = pbtxt.with_params(pbtxt.parse(TEXT), {"k2": 0.9, "k1": None, "new": True})
    assert pbtxt.params(out) == {"k2": "0.9", "new": "true"}
    assert [p["key"] for p in out["parameters"]] == ["k2", "new"]


@pytest.mark.parametrize("bad", ['name: "x', "input [ { name: 1 }", "a { b: 1 ]", "dims: [ 1, ", "x: @"])
def test_malformed_text_raises(bad: str) -> None:
    with pytest.raises(PbtxtError):
        pbtxt.parse(bad)
