"""Sampling: which eval instances a run asks, which in-context examples each train trial shows, and
how a prompt is fitted into the context window. `adaptation.sampling` chooses one by name.

- `crfm_eval` (the default): the eval subsample and the examples are drawn with the run's `seed`
  (few_shot.py: each sub-split on its own, contrast sets whole); examples are class-balanced,
  shuffled, and never an eval instance; the eval subsample keeps the data set's order; a prompt that does not fit drops examples from the end, then cuts the *start*
  of the eval input (which keeps a question next to its answer prefix).
- `helm`: exactly what HELM 0.5 does (see helm_sampling.py), so that every prompt of a run is
  byte-identical to HELM's on the same data and tokenizer.

Both are stateless objects; a name may also be the class path of another `Sampling`.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar, Optional

from crfm_eval.adaptation.few_shot import Subsample, examples_by_sub_split
from crfm_eval.adaptation.fitting import CountTokens, FittedPrompt, Tokenize, TooLong, cut_input_start, fit_prompt
from crfm_eval.adaptation.prompt import GENERATION_FORMAT, PromptFormat
from crfm_eval.errors import UserError
from crfm_eval.objects import create_object
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Instance

SAMPLINGS: dict[str, str] = {
    "crfm_eval": "crfm_eval.adaptation.sampling.CrfmEvalSampling",
    "helm": "crfm_eval.adaptation.helm_sampling.HelmSampling",
}


class Sampling(ABC):
    excludes_eval_inputs: ClassVar[bool] = True
    """Whether an eval instance's input is kept out of the train pool (a data set may repeat one)."""

    @abstractmethod
    def subsample(self, max_eval_instances: Optional[int], seed: int) -> Subsample:
        """The eval subsample, fed the eval instances one at a time (few_shot.Subsample); its
        `in_order` gives the chosen instances in the order they are asked."""

    @abstractmethod
    def examples_by_sub_split(
        self, pool: list[Instance], sub_splits: Iterable[Optional[str]], count: int, seed: int, trial: int
    ) -> dict[Optional[str], list[Instance]]:
        """Eval sub-split -> the examples of train trial `trial`, in prompt order (the same for every
        eval instance of that sub-split; a scenario without sub-splits has the one key None)."""

    def fit_prompt(
        self,
        spec: AdaptationSpec,
        examples: list[Instance],
        eval_instance: Instance,
        tokenize: Tokenize,
        max_sequence_length: int,
        prompt_format: PromptFormat = GENERATION_FORMAT,
        reserved_tokens: Optional[int] = None,
        count_tokens: Optional[CountTokens] = None,
    ) -> FittedPrompt:
        """The prompt of `eval_instance` written in `prompt_format`, made to fit `max_sequence_length`
        minus `reserved_tokens` (default: adaptation.max_tokens); `count_tokens(text)` equals
        `len(tokenize(text))`, faster. Examples are dropped from the end (fitting.fit_prompt); an
        instance too long alone is cut by `cut_alone`."""
        return fit_prompt(
            spec,
            examples,
            eval_instance,
            tokenize,
            max_sequence_length,
            prompt_format,
            reserved_tokens,
            count_tokens,
            self.cut_alone,
        )

    def cut_alone(self, too_long: TooLong) -> FittedPrompt:
        """An eval instance too long with no example, cut to fit: ours drops the start of its input."""
        return cut_input_start(too_long)


class CrfmEvalSampling(Sampling):
    """Our default: seeded by the run, class-balanced, never an eval instance as an example."""

    def subsample(self, max_eval_instances: Optional[int], seed: int) -> Subsample:
        return Subsample(max_eval_instances, seed)

    def examples_by_sub_split(
        self, pool: list[Instance], sub_splits: Iterable[Optional[str]], count: int, seed: int, trial: int
    ) -> dict[Optional[str], list[Instance]]:
        return examples_by_sub_split(pool, sub_splits, count, seed, trial)


def sampling_for(name: str) -> Sampling:
    """The Sampling called `name` (a registered name or a class path)."""
    if name in SAMPLINGS:
        return create_object(SAMPLINGS[name], {}, Sampling, "adaptation.sampling")
    if "." in name:
        return create_object(name, {}, Sampling, "adaptation.sampling")
    raise UserError(
        f"adaptation.sampling={name!r} is not a known sampling; use one of: {', '.join(SAMPLINGS)} "
        "(or the class path of a Sampling)."
    )
