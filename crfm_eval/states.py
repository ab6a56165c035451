"""States: what the system produces. Plain frozen dataclasses that round-trip through JSON.

Scenario -> Instance(s) with References; Adapter -> RequestState(s) in a ScenarioState;
Executor -> each RequestState gets its RequestResult; Metric -> Stat(s).
"""

from dataclasses import dataclass, field
from typing import Any, Optional

from crfm_eval.specs import AdaptationSpec

CORRECT_TAG = "correct"

MACRO_AVERAGE = "macro_average"
"""The `sub_split` of a Stat that averages the means of a split's sub-splits (each sub-split counts once)."""
CONSISTENCY = "consistency"
"""The `sub_split` of a Stat over contrast sets: each set's worst value (1 for accuracy when every question
of the set, the original and its perturbations, is right), averaged over the sets."""


@dataclass(frozen=True)
class Reference:
    """One possible output for an instance; tagged `correct` when it is a right answer."""

    output: str
    tags: list[str] = field(default_factory=list)

    @property
    def is_correct(self) -> bool:
        return CORRECT_TAG in self.tags


@dataclass(frozen=True)
class Instance:
    """One example of a scenario: an input, its references and the split it belongs to."""

    id: str
    input: str
    references: list[Reference]
    split: str
    sub_split: Optional[str] = None
    """A named part of the split, e.g. an MMLU subject, or a contrast set's `original` and `perturbed`
    questions. Stats are also reported per sub-split; in-context examples for an eval instance come from
    the train instances of its sub-split when there are any; adaptation instructions may name it."""
    contrast_set: Optional[str] = None
    """Id of the contrast set the instance belongs to (the original instance's id, on the original and on
    its perturbations): a set is evaluated whole or not at all, and its worst value gives `consistency`."""

    @property
    def first_correct_reference(self) -> Optional[Reference]:
        return next((reference for reference in self.references if reference.is_correct), None)


@dataclass(frozen=True)
class Request:
    """Everything a model needs to answer; also the content of the cache key."""

    model: str
    prompt: str
    temperature: float = 1.0
    max_tokens: int = 100
    stop_sequences: list[str] = field(default_factory=list)
    num_completions: int = 1
    top_k_per_token: int = 1
    echo_prompt: bool = False
    top_p: float = 1.0
    seed: Optional[int] = None
    """Sampling seed, for clients that accept one."""
    random: Optional[str] = None
    """Free tag that makes otherwise identical requests distinct (repeated sampling)."""
    continuation: Optional[str] = None
    """A log-likelihood request when set: the model scores this text after `prompt` and generates
    nothing. The result's one completion holds exactly the continuation's tokens, each with its
    log-probability given everything before it (see `models/clients/log_likelihood.py`)."""

    @property
    def is_log_likelihood(self) -> bool:
        return self.continuation is not None


@dataclass(frozen=True)
class Token:
    """A generated token with its log probability and the top alternatives'."""

    text: str
    logprob: float
    top_logprobs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    """One completion of a request."""

    text: str
    logprob: float
    tokens: list[Token]
    finish_reason: Optional[str] = None


@dataclass(frozen=True)
class RequestResult:
    """The answer to a Request, or why there is none."""

    success: bool
    completions: list[Completion] = field(default_factory=list)
    cached: bool = False
    """Served from the cache rather than the model."""
    request_time: Optional[float] = None
    """Seconds the model took; for a cached result, the time of the original call."""
    error: Optional[str] = None


def request_result_from_json(data: dict[str, Any]) -> RequestResult:
    """A RequestResult from its JSON form (the cache, the proxy's answers), read once per request.

    The dataclasses' own constructors rather than `json_io.from_jsonable` (dacite): measured, dacite
    took ~0.5 ms for a two-token result, more than the rest of a cache hit. An unknown or missing
    field still fails (TypeError).
    """
    completions = [
        Completion(**{**completion, "tokens": [Token(**token) for token in completion["tokens"]]})
        for completion in data["completions"]
    ]
    return RequestResult(**{**data, "completions": completions})


@dataclass(frozen=True)
class RequestState:
    """An eval instance as asked in one train trial: the request and, once executed, its result."""

    instance: Instance
    train_trial_index: int
    request: Request
    train_instance_ids: list[str]
    """Ids of the in-context examples that made it into the prompt, in prompt order."""
    num_train_instances: int
    prompt_truncated: bool
    """The eval instance's own text was cut to fit the context window."""
    num_prompt_tokens: int
    result: Optional[RequestResult] = None
    reference_index: Optional[int] = None
    """Multiple choice, separate methods: the reference this request scores."""
    request_mode: Optional[str] = None
    """Separate methods: `original` (after the prompt) or `calibration` (after a neutral context)."""
    output_mapping: Optional[dict[str, str]] = None
    """Joint multiple choice: option letter -> reference text, as listed in this prompt."""


@dataclass(frozen=True)
class ScenarioState:
    """All the requests of a run and how they were built."""

    adaptation_spec: AdaptationSpec
    request_states: list[RequestState]


@dataclass(frozen=True)
class PerInstanceStats:
    """The metric values of one eval instance in one train trial."""

    instance_id: str
    split: str
    train_trial_index: int
    values: dict[str, float]
    sub_split: Optional[str] = None
    """The instance's sub-split (see `Instance.sub_split`)."""
    contrast_set: Optional[str] = None
    """The instance's contrast set (see `Instance.contrast_set`)."""


@dataclass(frozen=True)
class TrialSpread:
    """How a stat moves with the in-context examples: its mean in each train trial (each trial draws
    its own examples), and their spread. A large spread means the score depends on the prompt."""

    means: list[float]
    """The stat's mean over the split's instances in train trial 0, 1, ..."""
    min: float
    max: float
    stddev: float
    """Sample standard deviation of the trial means (n - 1 in the denominator)."""
    sums: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    """Each trial's sum and number of values: the means follow from them, and the spreads of shards
    of a run merge exactly (`statistics.merge_stats`)."""


@dataclass(frozen=True)
class Stat:
    """A metric aggregated over the instances of a split, with its spread and 95% confidence interval."""

    name: str
    split: str
    count: int
    sum: float
    mean: Optional[float]
    stddev: Optional[float]
    """Sample standard deviation (n - 1 in the denominator); null below two values."""
    min: Optional[float]
    max: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    """Bounds of the 95% confidence interval of the mean; null below two values."""
    sum_squared: Optional[float] = None
    """Sum of the squared values. With `count`, `sum`, `min` and `max` it determines every other
    field, so that the stats of shards merge into the stats of the whole (metrics/statistics.py,
    `merge_stats`); null for a statistic of the whole split that is not a mean of per-instance
    values (it cannot be merged)."""
    variance: Optional[float] = None
    """Sample variance (n - 1 in the denominator), the square of `stddev`; null below two values."""
    sub_split: Optional[str] = None
    """Null for the whole split; else the sub-split the stat covers, or an aggregate over the sub-splits:
    `macro_average` (count = number of sub-splits) or `consistency` (count = number of contrast sets)."""
    trials: Optional[TrialSpread] = None
    """With several train trials (`adaptation.num_train_trials`), the stat's mean in each and their
    spread; the fields above are over instances, each instance's values first averaged over trials."""
