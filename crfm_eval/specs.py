"""Specs: what a user writes, one frozen dataclass per part of a run.

Each spec is also the schema of a Hydra config group (see `config_schema.py`), so a value of the
wrong type, an unknown key or a missing field fails while the config is composed, with OmegaConf's
message. Types use `Optional[...]` rather than `X | None` because OmegaConf 2.3 reads only the former.
"""

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING


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
    """Short name of this metric set, e.g. `basic`."""


@dataclass(frozen=True)
class AdaptationSpec:
    """How instances become prompts and requests (HELM's AdapterSpec)."""

    name: str = MISSING
    """Short name used in run names, e.g. `5shot`."""

    method: str = "generation"
    """Adaptation method; `generation` asks the model to write the answer."""

    global_prefix: str = ""
    """Text at the very start of every prompt."""

    instructions: str = ""
    """Task instructions, placed before the in-context examples (followed by `instance_prefix`)."""

    input_prefix: str = ""
    """Text before each instance's input, e.g. `Passage: `."""

    input_suffix: str = "\n"
    """Text after each instance's input."""

    output_prefix: str = ""
    """Text before each answer, e.g. `Answer: ` (right-stripped after the eval instance's input)."""

    output_suffix: str = "\n"
    """Text after each in-context example's answer."""

    instance_prefix: str = "\n"
    """Separator between the blocks of the prompt (instructions, each example, the eval instance)."""

    max_train_instances: int = 5
    """Number of in-context examples drawn from the train split (0 for zero-shot)."""

    num_train_trials: int = 1
    """How many independent draws of in-context examples; each eval instance is asked once per draw."""

    eval_splits: list[str] = field(default_factory=lambda: ["valid", "test"])
    """Splits whose instances are evaluated."""

    max_tokens: int = 5
    """Maximum number of tokens the model may generate."""

    temperature: float = 0.0
    """Sampling temperature; 0 means greedy decoding."""

    stop_sequences: list[str] = field(default_factory=list)
    """Generation stops before the first of these strings."""

    num_outputs: int = 1
    """Completions per request."""

    top_k_per_token: int = 1
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

    num_threads: int = 4
    """Requests in flight at once."""

    cache_dir: str = MISSING
    """Folder of the persistent request cache (one sqlite file per model)."""

    progress: bool = True
    """Show a progress bar (on a terminal) or log periodic progress lines (otherwise)."""

    url: Optional[str] = None
    """Address of a model proxy (`python -m crfm_eval.proxy`); when set, requests go through it."""

    api_key: Optional[str] = None
    """The proxy account's key; read from $CRFM_EVAL_API_KEY by default and never written out."""

    credentials_file: Optional[str] = "credentials.yaml"
    """Provider keys for in-process clients (see credentials.yaml.example); a missing file is fine."""


@dataclass(frozen=True)
class ModelSpec:
    """A model and the client that reaches it."""

    name: str = MISSING
    """The model's name in requests, the cache key and the leaderboard, e.g. `simple/deterministic`."""

    client: str = MISSING
    """Import path of the client class, e.g. `crfm_eval.models.clients.simple.SimpleClient`."""

    args: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for the client's constructor."""

    max_sequence_length: int = 2048
    """Context window in tokens: prompt plus generated tokens must fit in it."""

    group: str = "default"
    """Quota group on a proxy: accounts get quotas per group (e.g. `local`, `openai`, `ai21`)."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run; the root of the Hydra config."""

    run_name: str = MISSING
    """Folder name of the run inside its suite."""

    suite: str = "default"
    """Group of runs that belong together; outputs go to `<output_dir>/runs/<suite>/<run_name>`."""

    output_dir: str = "outputs"
    """Where runs and the default cache are written."""

    data_dir: str = "data"
    """Where data sets are read from, and downloaded to when missing."""

    max_eval_instances: Optional[int] = None
    """Evaluate at most this many instances per eval split, drawn with `seed`; null for all."""

    seed: int = 0
    """Seed of every random choice (eval subsample, in-context examples)."""

    force: bool = False
    """Run again even when the run folder already holds a complete run of this same spec."""

    scenario: ScenarioSpec = MISSING
    adaptation: AdaptationSpec = MISSING
    execution: ExecutionSpec = MISSING
    metric: MetricSpec = MISSING
    model: ModelSpec = MISSING
