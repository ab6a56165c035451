"""`dry_run=true`: what a run would ask and cost, without sending a request or writing its folder.

The run is adapted exactly as it would be (same scenario, subsample, in-context examples, prompt
fitting with the model's tokenizer), and each request is looked up in the model's cache file,
read-only: a dry run creates no file, charges nothing and marks nothing complete. Prompt tokens
are the fitting's counts, exact where the client has the model's tokenizer and an estimate where it
has not (`Client.exact_tokenizer`: hosted APIs); completion tokens are the most the requests may
generate (`max_tokens` x completions), so the cost is an upper bound. A provider key is not
needed: the client is built with a placeholder, and never called.

In a sweep (`-m`) each job prints its line, and `SweepReport` prints the total of the jobs that ran
in the launching process (the default launcher; a launcher that runs jobs in other processes gets
the lines only).
"""

import dataclasses
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Optional

from crfm_eval.adaptation.methods import check_model_supports, create_adapter
from crfm_eval.cost.usage import PER_TOKENS, dollars, max_completion_tokens
from crfm_eval.models.cache import TABLE
from crfm_eval.models.credentials import Credentials
from crfm_eval.models.service import LocalService
from crfm_eval.objects import create_object
from crfm_eval.runner.outputs import run_dir_of
from crfm_eval.runner.resume import completed_stats
from crfm_eval.scenarios.scenario import Scenario
from crfm_eval.specs import RunSpec

PLACEHOLDER_KEY = "dry-run-placeholder-key"
"""Lets a hosted model's client be built for its tokenizer without a key; it is never sent."""


class PlaceholderCredentials(Credentials):
    """The real keys where there are some, a placeholder for the rest (a dry run sends nothing)."""

    def get(self, name: str, environment_variable: str) -> Optional[str]:
        return super().get(name, environment_variable) or PLACEHOLDER_KEY


@dataclasses.dataclass(frozen=True)
class RunEstimate:
    """What one run would ask. Token counts and the cost are of the requests the cache lacks."""

    run_name: str
    pricing: str
    """The model and its price, as printed."""
    num_requests: int
    num_cached: Optional[int]
    """Requests the cache already answers; None when the cache is not here (a proxy holds it)."""
    prompt_tokens: int
    max_completion_tokens: int
    max_cost: float
    exact_tokens: bool
    """Prompt tokens counted by the model's own tokenizer (else an estimate)."""
    already_complete: bool = False

    @property
    def num_to_send(self) -> int:
        return self.num_requests - (self.num_cached or 0)

    def line(self) -> str:
        if self.already_complete:
            return f"{self.run_name}: already complete (force=true would run it again): nothing to send, $0."
        cached = "cache not here (proxy)" if self.num_cached is None else f"{self.num_cached:,} in the cache"
        estimate = "" if self.exact_tokens else " (estimated: approximate tokenizer)"
        return (
            f"{self.run_name}: {self.num_requests:,} requests ({cached}); to send: {self.num_to_send:,} requests, "
            f"{self.prompt_tokens:,} prompt tokens{estimate}, at most {self.max_completion_tokens:,} completion "
            f"tokens; estimated cost at most ${self.max_cost:.4f} ({self.pricing})."
        )


def total_line(estimates: list[RunEstimate]) -> str:
    exact = all(estimate.exact_tokens for estimate in estimates)
    return (
        f"Total of {len(estimates)} run(s): {sum(e.num_requests for e in estimates):,} requests, "
        f"{sum(e.num_cached or 0 for e in estimates):,} in the cache; to send: "
        f"{sum(e.num_to_send for e in estimates):,} requests, {sum(e.prompt_tokens for e in estimates):,} prompt "
        f"tokens{'' if exact else ' (partly estimated)'}, at most "
        f"{sum(e.max_completion_tokens for e in estimates):,} completion tokens; estimated cost at most "
        f"${sum(e.max_cost for e in estimates):.4f}. Nothing was sent and no run folder written (dry_run=true)."
    )


class CacheProbe:
    """Read-only lookups in one cache file (none if it does not exist): nothing is created or locked."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) if path.exists() else None

    def has(self, key: str) -> bool:
        if self._connection is None:
            return False
        return self._connection.execute(f'SELECT 1 FROM "{TABLE}" WHERE key = ?', (key,)).fetchone() is not None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def estimate(run_spec: RunSpec) -> RunEstimate:
    """Adapt `run_spec` and count what it would send; nothing is sent or written."""
    model = run_spec.model
    if not run_spec.force and completed_stats(run_dir_of(run_spec), run_spec) is not None:
        return RunEstimate(run_spec.run_name, model.name, 0, 0, 0, 0, 0.0, True, already_complete=True)
    check_model_supports(run_spec.adaptation.method, model)  # the same refusals as a run, before the data
    scenario = create_object(run_spec.scenario._target_, run_spec.scenario.args, Scenario, "scenario._target_")
    instances = scenario.get_instances(Path(run_spec.data_dir))
    execution = run_spec.execution
    credentials_file = Path(execution.credentials_file) if execution.credentials_file else None
    service = LocalService([model], Path(execution.cache_dir), PlaceholderCredentials.load(credentials_file))
    on_proxy = bool(execution.url)
    probe = CacheProbe(service.cache_file(model.name))
    num_requests = num_cached = prompt_tokens = completion_tokens = 0
    with closing(probe):
        adapter = create_adapter(run_spec.adaptation, model, service, run_spec.seed)
        plan = adapter.plan(instances, run_spec.max_eval_instances)
        for state in plan.request_states:
            num_requests += 1
            if not on_proxy and probe.has(service.key_of(state.request)):
                num_cached += 1
                continue
            continuation = state.request.continuation
            prompt_tokens += state.num_prompt_tokens + (
                service.count_tokens(model.name, continuation) if continuation else 0
            )
            completion_tokens += max_completion_tokens(state)
    return RunEstimate(
        run_name=run_spec.run_name,
        pricing=_price_text(run_spec),
        num_requests=num_requests,
        num_cached=None if on_proxy else num_cached,
        prompt_tokens=prompt_tokens,
        max_completion_tokens=completion_tokens,
        max_cost=dollars(model.price, prompt_tokens, completion_tokens),
        exact_tokens=type(service.client(model.name)).exact_tokenizer,
    )


def _price_text(run_spec: RunSpec) -> str:
    price = run_spec.model.price
    if not price.prompt and not price.completion:
        return f"{run_spec.model.name} costs nothing"
    read = f", read on {price.read_on}" if price.read_on else ""
    per = f"{PER_TOKENS:,}"
    return (
        f"{run_spec.model.name} at ${price.prompt:g} / ${price.completion:g} per {per} prompt / completion tokens{read}"
    )
