"""Specs: what a user writes, one frozen dataclass per part of a run.

Each spec is also the schema of a Hydra config group (see `config_schema.py`), so a value of the
wrong type, an unknown key or a missing field fails while the config is composed, with OmegaConf's
message. Types use `Optional[...]` rather than `X | None` because OmegaConf 2.3 reads only the former.

The allowed values of a field sit next to it, as field metadata (`at_least`, `between`,
`folder_name`, `writable_dir`, `not_empty`); `crfm_eval.validation` checks them all before a run
starts. A new field gets its range the same way.
"""

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

MAX_NUM_OUTPUTS = 128
"""Completions per request: OpenAI's limit for `n`; more is a typo that costs minutes and gigabytes."""

MAX_TOP_K_PER_TOKEN = 100
"""Alternatives per token: every one is stored for every generated token of every request."""


def at_least(minimum: float) -> dict[str, Any]:
    """Metadata of a number field: it must be >= `minimum` (None stays allowed for Optional fields)."""
    return {"minimum": minimum}


def between(minimum: float, maximum: float) -> dict[str, Any]:
    """Metadata of a number field: `minimum` <= value <= `maximum`."""
    return {"minimum": minimum, "maximum": maximum}


def folder_name() -> dict[str, Any]:
    """Metadata of a string that becomes one folder name (no path separator, not `.` or `..`)."""
    return {"folder_name": True}


def writable_dir() -> dict[str, Any]:
    """Metadata of a folder the run writes to: it must exist as a folder or be creatable."""
    return {"writable_dir": True}


def not_empty() -> dict[str, Any]:
    """Metadata of a list that needs at least one item."""
    return {"not_empty": True}


@dataclass(frozen=True)
class ObjectSpec:
    """A class to create by its import path, with keyword arguments for its constructor."""

    _target_: str = MISSING
    """Import path of the class, e.g. `crfm_eval.scenarios.boolq.BoolQScenario`."""

    args: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments passed to the class's constructor."""


@dataclass(frozen=True)
class ScenarioSpec(ObjectSpec):
    """Which data set to evaluate on: a `Scenario` subclass and its arguments."""

    name: str = MISSING
    """Short name used in run names and on the leaderboard, e.g. `boolq`."""


@dataclass(frozen=True)
class MetricSpec(ObjectSpec):
    """How to score the results: a `Metric` subclass and its arguments."""

    name: str = MISSING
    """Short name of this metric set, e.g. `matching`."""


@dataclass(frozen=True)
class AdaptationSpec:
    """How instances become prompts and requests (HELM's AdapterSpec)."""

    name: str = MISSING
    """Short name used in run names, e.g. `5shot`."""

    method: str = "generation"
    """How the model is asked (see crfm_eval/adaptation/methods.py): `generation` (the model writes
    the answer), `multiple_choice_joint` (options listed with letters, the model writes a letter),
    `multiple_choice_separate_original` (each option scored by its log-likelihood),
    `multiple_choice_separate_calibrated` (the same, minus its log-likelihood after a neutral
    context), `language_modeling` (the input's log-likelihood, in windows); or the class path of an
    Adapter."""

    global_prefix: str = ""
    """Text at the very start of every prompt."""

    instructions: str = ""
    """Task instructions, placed before the in-context examples (followed by `instance_prefix`)."""

    input_prefix: str = ""
    """Text before each instance's input, e.g. `Passage: `."""

    input_suffix: str = "\n"
    """Text after each instance's input."""

    output_prefix: str = ""
    """Text before each answer, e.g. `Answer: ` (right-stripped after the eval instance's input; for
    the separate methods its trailing whitespace starts the scored continuation, e.g. ` Yes`)."""

    output_suffix: str = "\n"
    """Text after each in-context example's answer."""

    instance_prefix: str = "\n"
    """Separator between the blocks of the prompt (instructions, each example, the eval instance)."""

    reference_prefix: str = "A. "
    """Joint multiple choice: text before each option; its first letter becomes B, C, ... for the next ones."""

    reference_suffix: str = "\n"
    """Joint multiple choice: text after each option."""

    shuffle_references: bool = False
    """Joint multiple choice: list the options in an order drawn with the run's seed (per instance)
    rather than as the scenario gives them."""

    max_train_instances: int = field(default=5, metadata=at_least(0))
    """Number of in-context examples drawn from the train split (0 for zero-shot)."""

    num_train_trials: int = field(default=1, metadata=at_least(1))
    """How many independent draws of in-context examples; each eval instance is asked once per draw."""

    eval_splits: list[str] = field(default_factory=lambda: ["valid", "test"], metadata=not_empty())
    """Splits whose instances are evaluated."""

    max_tokens: int = field(default=5, metadata=at_least(1))
    """Maximum number of tokens the model may generate."""

    temperature: float = field(default=0.0, metadata=at_least(0))
    """Sampling temperature; 0 means greedy decoding."""

    stop_sequences: list[str] = field(default_factory=list)
    """Generation stops before the first of these strings."""

    num_outputs: int = field(default=1, metadata=between(1, MAX_NUM_OUTPUTS))
    """Completions per request."""

    top_k_per_token: int = field(default=1, metadata=between(1, MAX_TOP_K_PER_TOKEN))
    """Number of most likely alternatives whose log probabilities are returned for each token."""

    sampling: str = "crfm_eval"
    """How the eval subsample and the in-context examples are chosen and a prompt is fitted:
    `crfm_eval` (seeded by the run, class-balanced, never an eval instance) or `helm` (exactly as
    HELM 0.5: byte-identical prompts; HELM's own fixed seeds); see crfm_eval/adaptation/sampling.py."""


@dataclass(frozen=True)
class ExecutionSpec:
    """How requests reach the models."""

    name: str = MISSING
    """Short name, e.g. `local` (in-process model clients)."""

    num_threads: int = field(default=4, metadata=at_least(1))
    """Requests in flight at once."""

    cache_dir: str = field(default=MISSING, metadata=writable_dir())
    """Folder of the persistent request cache (one sqlite file per model)."""

    progress: bool = True
    """Show a progress bar (on a terminal) or log periodic progress lines (otherwise)."""

    url: Optional[str] = None
    """Address of a model proxy (`python -m crfm_eval.proxy`); when set, requests go through it."""

    api_key: Optional[str] = None
    """The proxy account's key; read from $CRFM_EVAL_API_KEY by default and never written out."""

    credentials_file: Optional[str] = "credentials.yaml"
    """Provider keys for in-process clients (see credentials.yaml.example); a missing file is fine."""

    max_cost: Optional[float] = field(default=None, metadata=at_least(0))
    """Budget of the run in US dollars, at the model's `price`: the run stops before it sends the
    request that could take it over (cached results cost nothing); null for no budget."""


@dataclass(frozen=True)
class PriceSpec:
    """What a model's provider charges, in US dollars per million tokens (0 for a model run here)."""

    prompt: float = field(default=0.0, metadata=at_least(0))
    """Dollars per million prompt (input) tokens."""

    completion: float = field(default=0.0, metadata=at_least(0))
    """Dollars per million completion (output) tokens."""

    read_on: Optional[str] = None
    """The date the price was read from the provider's price list (e.g. `2024-07-18`): prices change."""


@dataclass(frozen=True)
class ModelSpec:
    """A model and the client that reaches it."""

    name: str = MISSING
    """The model's name in requests, the cache key and the leaderboard, e.g. `simple/deterministic`."""

    client: str = MISSING
    """Import path of the client class, e.g. `crfm_eval.models.clients.simple.SimpleClient`."""

    args: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for the client's constructor."""

    max_sequence_length: int = field(default=2048, metadata=at_least(1))
    """Context window in tokens: prompt plus generated tokens must fit in it."""

    group: str = "default"
    """Quota group on a proxy: accounts get quotas per group (e.g. `local`, `openai`, `ai21`)."""

    price: PriceSpec = field(default_factory=PriceSpec)
    """The provider's price, for the cost of a run, its dry-run estimate and `execution.max_cost`."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run; the root of the Hydra config."""

    run_name: str = field(default=MISSING, metadata=folder_name())
    """Folder name of the run inside its suite. By default `{scenario}_{adaptation}_{model}`, followed by
    the settings that differ from the defaults of the chosen config groups (see `runner/identity.py`)."""

    suite: str = field(default="default", metadata=folder_name())
    """Group of runs that belong together; outputs go to `<output_dir>/runs/<suite>/<run_name>`."""

    output_dir: str = field(default="outputs", metadata=writable_dir())
    """Where runs and the default cache are written."""

    data_dir: str = "data"
    """Where data sets are read from, and downloaded to when missing (made absolute when composed, so
    that two spellings of one folder are one run)."""

    max_eval_instances: Optional[int] = field(default=None, metadata=at_least(1))
    """Evaluate at most this many instances (of each sub-split, e.g. MMLU subject; a contrast set
    counts as one), drawn with `seed`; null for all."""

    seed: int = field(default=0, metadata=at_least(0))
    """Seed of every random choice (eval subsample, in-context examples)."""

    force: bool = False
    """Run again even when the run folder already holds a complete run of this same spec."""

    dry_run: bool = False
    """Adapt the run and print what it would ask (requests, cache hits, tokens, estimated cost)
    without sending a request or writing its run folder."""

    scenario: ScenarioSpec = MISSING
    adaptation: AdaptationSpec = MISSING
    execution: ExecutionSpec = MISSING
    metric: dict[str, MetricSpec] = field(default_factory=dict)
    """Metric sets added to the ones the adaptation method brings (which always run), by name:
    `metric=[calibration]` or `+metric=calibration` on the command line."""
    model: ModelSpec = MISSING
