"""Benchmark: what the choices of a multiple-choice question cost on the embedded model.

    python bench/multiple_choice_prefix_reuse.py [--model smollm2-135m] [--questions 10] [--repeats 2] [--data-dir ...]

The prompts are the `mc_separate` config's (HELM's 5-shot BoolQ format) for the first QUESTIONS
BoolQ dev instances, each with four choices (" No", " Yes", " Maybe", " I don't know"). Three ways,
all through `LlamaCppClient.log_likelihood` with no request cache, interleaved `--repeats` times
(the fastest of each is compared, the least disturbed by other work on the machine):

- one:      only the first choice of each question (the cost of one request per question);
- four:     all four choices, one after another, as the separate adapters send them: the shared
            prompt stays in llama.cpp's KV cache and each further choice evaluates a few tokens;
- four, no reuse: the same with the KV cache cleared before every request (what it would cost
            without prefix reuse).
Prints seconds and ratios against `one`, and the load average (the machine is shared: figures are noisy).
"""

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crfm_eval.adaptation.few_shot import sample_in_context_examples  # noqa: E402
from crfm_eval.adaptation.prompt import build_prompt  # noqa: E402
from crfm_eval.models.clients.llama_cpp_client import LlamaCppClient  # noqa: E402
from crfm_eval.scenarios.boolq import BoolQScenario  # noqa: E402
from crfm_eval.specs import AdaptationSpec  # noqa: E402
from crfm_eval.states import Request  # noqa: E402

CHOICES = (" No", " Yes", " Maybe", " I don't know")
FORMAT = AdaptationSpec(name="mc_separate", input_prefix="Passage: ", output_prefix="Answer: ", max_train_instances=5)


def prompts(data_dir: Path, count: int) -> list[str]:
    import random

    instances = BoolQScenario().get_instances(data_dir)
    train = [i for i in instances if i.split == "train"]
    examples = sample_in_context_examples(train, 5, random.Random("0/train_trial/0"))
    return [build_prompt(FORMAT, examples, i) for i in instances if i.split == "valid"][:count]


def timed(client: LlamaCppClient, contexts: list[str], choices: tuple[str, ...], reuse: bool) -> float:
    client._model.llm.reset()
    start = time.perf_counter()
    for context in contexts:
        for choice in choices:
            if not reuse:
                client._model.llm.reset()
            client.log_likelihood(Request(model="m", prompt=context, continuation=choice, max_tokens=0))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: every core; 1 on a busy machine)"
    )
    parser.add_argument(
        "--data-dir", default=os.environ.get("CRFM_EVAL_DATA_DIR", str(REPO.parent / "shared" / "data"))
    )
    args = parser.parse_args()
    contexts = prompts(Path(args.data_dir), args.questions)
    client = LlamaCppClient(packaged_model=args.model, n_ctx=2048, n_threads=args.threads)
    ways = {"one": (CHOICES[:1], True), "four": (CHOICES, True), "four, no reuse": (CHOICES, False)}
    best = {name: float("inf") for name in ways}
    for repeat in range(args.repeats):
        for name, (choices, reuse) in ways.items():
            seconds = timed(client, contexts, choices, reuse)
            best[name] = min(best[name], seconds)
            print(
                f"  repeat {repeat + 1}: {name:15s} {seconds:7.2f} s  (load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    threads = args.threads or os.cpu_count()
    print(
        f"{args.questions} questions, 4 choices, {args.model}, {threads} threads, 5-shot BoolQ prompts; fastest of {args.repeats}"
    )
    for name, seconds in best.items():
        print(f"  {name:15s} {seconds:7.2f} s   {seconds / best['one']:.2f}x one request per question")
    print(f"load average: {os.getloadavg()}")
    print(
        f"reproduce: python bench/multiple_choice_prefix_reuse.py --model {args.model} --questions {args.questions} "
        f"--repeats {args.repeats}" + (f" --threads {args.threads}" if args.threads else "")
    )


if __name__ == "__main__":
    main()
