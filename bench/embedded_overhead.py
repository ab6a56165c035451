"""Benchmark: the framework's overhead over a bare llama-cpp-python loop on the same prompts.

    python bench/embedded_overhead.py [--model smollm2-135m] [--instances 100] [--repeats 2] [--data-dir ...]

1. `python -m crfm_eval scenario=boolq adaptation=5shot model=MODEL max_eval_instances=N` with a cold
   cache, timed as a whole (start-up, data, adaptation, model load, requests, metrics, files).
2. A bare script in a fresh process: load the same GGUF with the same threads and context, and call
   `Llama.create_completion` (greedy, max_tokens 5, stop "\\n") on the prompts of step 1, in order.
Both steps run `--repeats` times, alternating; the fastest of each is compared (the least disturbed
by whatever else the machine does). Prints both wall times and their ratio; the goal is at most 1.05.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crfm_eval.runner.readers import iter_request_states  # noqa: E402

BARE_LOOP = r"""
import json, os, sys, time
from llama_cpp import Llama
from crfm_eval.models.clients.gguf_models import packaged_model_file
start = time.perf_counter()
prompts = json.load(open(sys.argv[1]))
llm = Llama(model_path=str(packaged_model_file(sys.argv[2])), n_ctx=2048, n_threads=os.cpu_count(),
            n_threads_batch=os.cpu_count(), n_batch=512, verbose=False)
texts = [llm.create_completion(p, max_tokens=5, temperature=0.0, stop=["\n"])["choices"][0]["text"] for p in prompts]
print(json.dumps({"seconds": time.perf_counter() - start, "texts": texts}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m", help="a config of conf/model with a packaged GGUF")
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--data-dir", default=os.environ.get("CRFM_EVAL_DATA_DIR", str(REPO.parent / "shared" / "data"))
    )
    args = parser.parse_args()
    packaged = {"smollm2-135m": "smollm2-135m", "gemma-3-270m": "gemma-3-270m"}[args.model]
    framework_times, bare_times = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="crfm_eval_bench_") as output_dir:
            command = [
                sys.executable,
                "-m",
                "crfm_eval",
                "scenario=boolq",
                "adaptation=5shot",
                f"model={args.model}",
                f"max_eval_instances={args.instances}",
                f"data_dir={args.data_dir}",
                f"output_dir={output_dir}",
                "execution.progress=false",
            ]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
            framework_times.append(time.perf_counter() - start)
            run_dir = next(Path(output_dir, "runs").glob("*/*/manifest.json")).parent
            states = list(iter_request_states(run_dir))
            state_path = Path(output_dir, "prompts.json")  # the bare loop reads only the prompts
            state_path.write_text(json.dumps([s["request"]["prompt"] for s in states]))
            start = time.perf_counter()
            bare = subprocess.run(
                [sys.executable, "-c", BARE_LOOP, str(state_path), packaged], check=True, capture_output=True, text=True
            )
            bare_times.append(time.perf_counter() - start)
            bare_texts = json.loads(bare.stdout)["texts"]
            ours = [s["result"]["completions"][0]["text"] for s in states]
    agree = sum(a == b for a, b in zip(ours, bare_texts, strict=False))
    print("framework:", " ".join(command[1:]))
    print(
        f"framework (whole command): {' '.join(f'{t:.1f}' for t in framework_times)} s; best {min(framework_times):.1f} s"
    )
    print(
        f"bare llama-cpp-python loop (whole script): {' '.join(f'{t:.1f}' for t in bare_times)} s; best {min(bare_times):.1f} s"
    )
    print(f"ratio of the best: {min(framework_times) / min(bare_times):.3f} (goal <= 1.05)")
    print(f"same completions: {agree}/{len(ours)}")
    print(
        f"reproduce: python bench/embedded_overhead.py --model {args.model} --instances {args.instances} --repeats {args.repeats}"
    )


if __name__ == "__main__":
    main()
