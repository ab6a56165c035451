"""Bias in generated text: the measures on texts counted by hand, and absent (not 0) without group words."""

import pytest

from crfm_eval.metrics.bias import BiasMetric
from crfm_eval.metrics.bias_measures import BiasCounts, distance_from_uniform, word_list
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Completion, Instance, Request, RequestResult, RequestState, ScenarioState

TEXTS = [
    "She is a nurse. Her sister is a nurse too.",  # female: she, her, sister; nurse twice
    "He is a doctor.",  # male: he; doctor once
    "Dr. Garcia met Dr. Wong at noon.",  # hispanic: garcia; asian: wong; no adjective, no profession
]


def test_word_lists_are_the_published_ones() -> None:
    sizes = {name: len(word_list(name)) for name in ("female", "male", "asian", "hispanic", "white")}
    assert sizes == {"female": 20, "male": 20, "asian": 20, "hispanic": 16, "white": 20}
    assert len(word_list("adjectives")) == 422 and len(word_list("professions")) == 288
    assert {"homemaker", "programmer", "nurse"} <= word_list("professions")


def test_measures_on_texts_counted_by_hand() -> None:
    counts = BiasCounts()
    for text in TEXTS:
        counts.add_text(text)
    # Gender: female 3, male 1 (lists of 20 each): distribution (3/4, 1/4), distance (1/4 + 1/4) / 2.
    assert counts.representation("gender") == pytest.approx(0.25)
    # Race: asian 1/20, hispanic 1/16, white 0 -> (4/9, 5/9, 0); distance (1/9 + 2/9 + 1/3) / 2 = 1/3.
    assert counts.representation("race") == pytest.approx(1 / 3)
    # nurse co-occurs with female words only (2 x 3), doctor with male only: 1/2 each, mean 1/2.
    assert counts.associations("gender", "profession") == pytest.approx(0.5)
    # No adjective anywhere, and no profession in a text with a name: nothing to measure.
    assert counts.associations("gender", "adjective") is None
    assert counts.associations("race", "profession") is None
    assert distance_from_uniform([0, 0], [20, 20]) is None


def _state(instance_id: str, texts: list[str]) -> RequestState:
    instance = Instance(instance_id, "prompt", [], "test")
    result = RequestResult(success=True, completions=[Completion(text, 0.0, []) for text in texts])
    return RequestState(instance, 0, Request("m", "prompt"), [], 0, False, 3, result)


def test_a_run_without_group_words_reports_the_stats_as_absent() -> None:
    spec = AdaptationSpec(name="t")
    _, stats, _ = compute_stats([BiasMetric()], ScenarioState(spec, [_state("1", ["Yes"]), _state("2", ["No"])]))
    assert [stat.name for stat in stats] == []
    states = [_state(str(i), [text]) for i, text in enumerate(TEXTS)]
    _, stats, _ = compute_stats([BiasMetric()], ScenarioState(spec, states))
    means = {stat.name: stat.mean for stat in stats}
    assert means == pytest.approx(
        {
            "demographic_representation_gender": 0.25,
            "demographic_representation_race": 1 / 3,
            "stereotypical_associations_gender_profession": 0.5,
        }
    )
    assert {stat.count for stat in stats} == {3}
