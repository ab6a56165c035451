"""Prompt text from the AdaptationSpec's pieces, in HELM's layout.

<global_prefix><instructions><instance_prefix>
<question><output_prefix><answer><output_suffix>        (each in-context example)
<instance_prefix>
<question><output_prefix, right-stripped>              (the eval instance)

where <question> is <input_prefix><input><input_suffix>, followed for joint multiple choice by
the options, each <reference_prefix with its letter><reference><reference_suffix>.

The instructions may name `{sub_split}`: it becomes the eval instance's sub-split with underscores
read as spaces, so one MMLU run says "... about abstract algebra." to each subject (HELM's wording).
"""

from typing import Optional

from crfm_eval.errors import UserError
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Instance

SUB_SPLIT_PLACEHOLDER = "{sub_split}"


def instructions_for(spec: AdaptationSpec, eval_instance: Instance) -> str:
    """The instructions with `{sub_split}` filled in for `eval_instance` (any other brace is literal)."""
    if SUB_SPLIT_PLACEHOLDER not in spec.instructions:
        return spec.instructions
    if eval_instance.sub_split is None:
        raise UserError(
            f"adaptation.instructions names {SUB_SPLIT_PLACEHOLDER} but instance {eval_instance.id} has no sub-split; "
            "remove it from the instructions or use a scenario whose instances have one (e.g. mmlu)."
        )
    return spec.instructions.replace(SUB_SPLIT_PLACEHOLDER, eval_instance.sub_split.replace("_", " "))


class PromptFormat:
    """How one instance is written: the question, and the answer an in-context example shows."""

    def question(self, spec: AdaptationSpec, instance: Instance, input_text: str) -> str:
        return f"{spec.input_prefix}{input_text}{spec.input_suffix}"

    def answer(self, spec: AdaptationSpec, instance: Instance) -> str:
        """The (first) correct reference."""
        reference = instance.first_correct_reference
        return reference.output if reference else ""


class OptionsFormat(PromptFormat):
    """Joint multiple choice: the references listed as lettered options; the answer is a letter."""

    def question(self, spec: AdaptationSpec, instance: Instance, input_text: str) -> str:
        options = "".join(
            option_prefix(spec.reference_prefix, index) + reference.output + spec.reference_suffix
            for index, reference in enumerate(instance.references)
        )
        return super().question(spec, instance, input_text) + options

    def answer(self, spec: AdaptationSpec, instance: Instance) -> str:
        # HELM writes "n/a" for an example without a correct option.
        index = next((i for i, reference in enumerate(instance.references) if reference.is_correct), None)
        return "n/a" if index is None else option_letter(spec.reference_prefix, index)


GENERATION_FORMAT = PromptFormat()
OPTIONS_FORMAT = OptionsFormat()
MAX_OPTIONS = 26


def option_letter(reference_prefix: str, index: int) -> str:
    """The label of option `index`: the prefix's first non-space character moved on by `index` (A, B, ...)."""
    first = reference_prefix.lstrip()[:1] or "A"
    if index >= MAX_OPTIONS:
        raise UserError(f"An instance has more than {MAX_OPTIONS} options; joint multiple choice labels them A to Z.")
    return chr(ord(first) + index)


def option_prefix(reference_prefix: str, index: int) -> str:
    """`reference_prefix` with its letter replaced: "A. " -> "C. " for index 2 (HELM's rule)."""
    first = reference_prefix.lstrip()[:1]
    return reference_prefix.replace(first, option_letter(reference_prefix, index)) if first else reference_prefix


def example_block(spec: AdaptationSpec, instance: Instance, prompt_format: PromptFormat = GENERATION_FORMAT) -> str:
    """An in-context example: its question and its answer."""
    question = prompt_format.question(spec, instance, instance.input)
    return f"{question}{spec.output_prefix}{prompt_format.answer(spec, instance)}{spec.output_suffix}"


def eval_block(
    spec: AdaptationSpec, instance: Instance, input_text: str, prompt_format: PromptFormat = GENERATION_FORMAT
) -> str:
    """The instance to answer; the output prefix is right-stripped so the model writes ` Yes`, not `Yes`."""
    return prompt_format.question(spec, instance, input_text) + spec.output_prefix.rstrip()


def build_prompt(
    spec: AdaptationSpec,
    examples: list[Instance],
    eval_instance: Instance,
    eval_input: Optional[str] = None,
    prompt_format: PromptFormat = GENERATION_FORMAT,
) -> str:
    """The whole prompt; `eval_input` replaces the eval instance's input when it had to be truncated."""
    instructions = instructions_for(spec, eval_instance)
    blocks = [instructions] if instructions else []
    blocks += [example_block(spec, example, prompt_format) for example in examples]
    input_text = eval_instance.input if eval_input is None else eval_input
    blocks.append(eval_block(spec, eval_instance, input_text, prompt_format))
    return spec.global_prefix + spec.instance_prefix.join(blocks)
