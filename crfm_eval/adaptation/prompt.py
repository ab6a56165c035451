"""Prompt text from the AdaptationSpec's pieces, in HELM's layout.

<global_prefix><instructions><instance_prefix>
<input_prefix><input><input_suffix><output_prefix><answer><output_suffix>   (each example)
<instance_prefix>
<input_prefix><input><input_suffix><output_prefix, right-stripped>           (the eval instance)

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


def example_block(spec: AdaptationSpec, instance: Instance) -> str:
    """An in-context example: its input and its (first) correct answer."""
    reference = instance.first_correct_reference
    answer = reference.output if reference else ""
    return f"{spec.input_prefix}{instance.input}{spec.input_suffix}{spec.output_prefix}{answer}{spec.output_suffix}"


def eval_block(spec: AdaptationSpec, input_text: str) -> str:
    """The instance to answer; the output prefix is right-stripped so the model writes ` Yes`, not `Yes`."""
    return f"{spec.input_prefix}{input_text}{spec.input_suffix}{spec.output_prefix.rstrip()}"


def build_prompt(
    spec: AdaptationSpec, examples: list[Instance], eval_instance: Instance, eval_input: Optional[str] = None
) -> str:
    """The whole prompt; `eval_input` replaces the eval instance's input when it had to be truncated."""
    instructions = instructions_for(spec, eval_instance)
    blocks = [instructions] if instructions else []
    blocks += [example_block(spec, example) for example in examples]
    blocks.append(eval_block(spec, eval_instance.input if eval_input is None else eval_input))
    return spec.global_prefix + spec.instance_prefix.join(blocks)
