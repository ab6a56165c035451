"""States round-trip through JSON text unchanged; specs are frozen."""

import dataclasses
import json

import dacite
import pytest

from crfm_eval.json_io import dumps, from_jsonable, to_jsonable
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import (
    Completion,
    Instance,
    PerInstanceStats,
    Reference,
    Request,
    RequestResult,
    RequestState,
    ScenarioState,
    Stat,
    Token,
)


def _example_scenario_state() -> ScenarioState:
    instance = Instance(
        "valid-7", "Passage: ü “quoted”\nQuestion: Is it?", [Reference("Yes", ["correct"]), Reference("No")], "valid"
    )
    request = Request("simple/deterministic", "prompt\n\nAnswer:", 0.0, 5, ["\n"], 2, 3, False, 0.9, 17, "r1")
    completion = Completion(" Yes", -0.25, [Token(" Yes", -0.25, {" Yes": -0.25, " No": -1.6094379124341003})], "stop")
    result = RequestResult(True, [completion, completion], cached=True, request_time=0.123456789, error=None)
    state = RequestState(instance, 1, request, ["train-1", "train-9"], 2, True, 321, result)
    pending = RequestState(instance, 0, request, [], 0, False, 10, None)
    return ScenarioState(AdaptationSpec(name="5shot", stop_sequences=["\n"]), [state, pending])


@pytest.mark.parametrize(
    "obj",
    [
        _example_scenario_state(),
        _example_scenario_state().request_states[0],
        RequestResult(False, [], error="ClientError: upstream unavailable"),
        Stat("exact_match", "valid", 3, 2.0, 2 / 3, 0.5773502691896258, 0.0, 1.0, 0.2076, 0.9385),
        Stat("exact_match", "valid", 0, 0.0, None, None, None, None, None, None),
        PerInstanceStats("valid-1", "valid", 0, {"exact_match": 1.0, "num_prompt_tokens": 512.0}),
    ],
)
def test_state_round_trips_through_json_text(obj):
    text = dumps(to_jsonable(obj))
    restored = from_jsonable(type(obj), json.loads(text))
    assert restored == obj
    assert dumps(to_jsonable(restored)) == text


def test_unknown_field_in_a_state_file_is_rejected():
    data = to_jsonable(Reference("Yes", ["correct"]))
    data["surprise"] = 1
    with pytest.raises(dacite.UnexpectedDataError):
        from_jsonable(Reference, data)


def test_specs_and_states_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AdaptationSpec(name="x").max_tokens = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Reference("Yes").output = "No"  # type: ignore[misc]
