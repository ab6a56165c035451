"""Parts of a split: stats per sub-split, their macro average and contrast-set consistency (values
computed by hand below); in-context examples from the eval instance's own sub-split; a contrast set
sampled whole; instructions that name the sub-split."""

import random

import pytest

from crfm_eval.adaptation.few_shot import downsample, in_context_examples
from crfm_eval.adaptation.prompt import build_prompt
from crfm_eval.errors import UserError
from crfm_eval.metrics.breakdowns import breakdown_stats
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import CORRECT_TAG, Instance, PerInstanceStats, Reference

PROPORTIONS = frozenset({"exact_match"}).__contains__


def entry(instance_id, value, sub_split=None, contrast_set=None, trial=0, tokens=10.0):
    values = {"exact_match": value, "num_prompt_tokens": tokens}
    return PerInstanceStats(instance_id, "test", trial, values, sub_split=sub_split, contrast_set=contrast_set)


def by_part(stats, name="exact_match"):
    return {stat.sub_split: stat for stat in stats if stat.name == name}


def test_each_sub_split_and_the_macro_average_weigh_subjects_equally():
    # Subject a: 3 of 4 right; subject b: 0 of 1 right. Micro average 3/5, macro (0.75 + 0) / 2.
    entries = [entry(f"a{i}", v, "a") for i, v in enumerate([1.0, 1.0, 1.0, 0.0])] + [entry("b0", 0.0, "b")]
    stats = by_part(breakdown_stats(entries, PROPORTIONS))
    assert (stats["a"].count, stats["a"].mean) == (4, 0.75)
    assert (stats["b"].count, stats["b"].mean) == (1, 0.0)
    macro = stats["macro_average"]
    assert (macro.count, macro.mean, macro.min, macro.max) == (2, 0.375, 0.0, 0.75)
    assert macro.ci_low < 0.375 < macro.ci_high  # Student's t over the two subjects' means
    assert by_part(breakdown_stats(entries, PROPORTIONS), "num_prompt_tokens")["a"].mean == 10.0


def test_trials_are_averaged_per_instance_before_a_sub_split_is_summarized():
    entries = [entry("a0", 1.0, "a", trial=0), entry("a0", 0.0, "a", trial=1), entry("a1", 1.0, "a")]
    stat = by_part(breakdown_stats(entries, PROPORTIONS))["a"]
    assert (stat.count, stat.mean) == (2, 0.75)


def test_no_parts_means_no_breakdown_and_one_part_has_no_macro_average():
    assert breakdown_stats([entry("x", 1.0), entry("y", 0.0)], PROPORTIONS) == []
    assert set(by_part(breakdown_stats([entry("x", 1.0, "only")], PROPORTIONS))) == {"only"}


def test_consistency_is_the_share_of_contrast_sets_right_on_every_question():
    # Set s1: original and both perturbations right; s2: perturbation wrong; s3: original wrong.
    entries = [
        entry("s1", 1.0, "original", "s1"),
        entry("s1-p0", 1.0, "perturbed", "s1"),
        entry("s1-p1", 1.0, "perturbed", "s1"),
        entry("s2", 1.0, "original", "s2"),
        entry("s2-p0", 0.0, "perturbed", "s2"),
        entry("s3", 0.0, "original", "s3"),
        entry("s3-p0", 1.0, "perturbed", "s3"),
    ]
    stats = by_part(breakdown_stats(entries, PROPORTIONS))
    assert (stats["original"].count, stats["original"].mean) == (3, 2 / 3)
    assert (stats["perturbed"].count, stats["perturbed"].mean) == (4, 3 / 4)
    assert (stats["consistency"].count, stats["consistency"].mean) == (3, 1 / 3)
    assert "macro_average" not in stats  # original and perturbed are views of the same questions
    # A worst token count means nothing: consistency is computed for proportions only.
    assert "consistency" not in by_part(breakdown_stats(entries, PROPORTIONS), "num_prompt_tokens")


def item(instance_id, split="test", sub_split=None, contrast_set=None, answer="Yes"):
    return Instance(
        instance_id, f"input of {instance_id}", [Reference(answer, [CORRECT_TAG])], split, sub_split, contrast_set
    )


def test_in_context_examples_come_from_the_eval_instances_own_sub_split():
    pool = [item(f"{subject}-{i}", "train", subject, answer=f"{subject}{i}") for subject in "ab" for i in range(5)]
    pool.append(item("loose", "train"))
    evals = [item("a-test", sub_split="a"), item("b-test", sub_split="b"), item("c-test", sub_split="c")]
    chosen = in_context_examples(pool, evals, 5, seed=0, trial=0)
    assert {example.sub_split for example in chosen["a"]} == {"a"} and len(chosen["a"]) == 5
    assert {example.sub_split for example in chosen["b"]} == {"b"} and len(chosen["b"]) == 5
    # A sub-split with no train instance of its own draws from the whole pool.
    assert len(chosen["c"]) == 5 and {e.sub_split for e in chosen["c"]} <= {"a", "b", None}
    # Adding a subject changes no other subject's examples.
    again = in_context_examples(pool, evals[:1], 5, seed=0, trial=0)
    assert [e.id for e in again["a"]] == [e.id for e in chosen["a"]]


def test_a_contrast_set_is_sampled_whole_and_counts_once():
    instances = []
    for index in range(30):
        instances.append(item(f"o{index}", sub_split="original", contrast_set=f"o{index}"))
        instances += [item(f"o{index}-p{k}", sub_split="perturbed", contrast_set=f"o{index}") for k in range(3)]
    kept = downsample(instances, 10, seed=0)
    sets = {instance.contrast_set for instance in kept}
    assert len(sets) == 10 and len(kept) == 40
    assert kept == [instance for instance in instances if instance.contrast_set in sets]  # original order


def test_instructions_name_the_sub_split_in_words():
    spec = AdaptationSpec(
        name="mc", instructions="The following are multiple choice questions (with answers) about {sub_split}."
    )
    prompt = build_prompt(spec, [], item("q", sub_split="high_school_us_history"))
    assert prompt.startswith(
        "The following are multiple choice questions (with answers) about high school us history.\n"
    )
    literal = AdaptationSpec(name="x", instructions="Answer {yes} or {no}.")
    assert build_prompt(literal, [], item("q")).startswith("Answer {yes} or {no}.")
    with pytest.raises(UserError, match=r"names \{sub_split\} but instance q has no sub-split"):
        build_prompt(spec, [], item("q"))


def test_each_sub_split_is_capped_on_its_own_and_keeps_its_sample_when_others_change():
    instances = [
        item(f"{subject}-{i}", sub_split=subject) for subject, size in (("a", 30), ("b", 4)) for i in range(size)
    ]
    kept = downsample(instances, 10, seed=0)
    assert sum(i.sub_split == "a" for i in kept) == 10 and sum(i.sub_split == "b" for i in kept) == 4
    alone = downsample([i for i in instances if i.sub_split == "a"], 10, seed=0)
    assert [i.id for i in alone] == [i.id for i in kept if i.sub_split == "a"]
    plain = [item(f"x{i}") for i in range(50)]
    assert [i.id for i in downsample(plain, 5, seed=3)] == [
        plain[k].id for k in sorted(random.Random(3).sample(range(50), 5))
    ]
