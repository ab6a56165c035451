"""Benchmark: `mkdocs build` of the leaderboard site with N runs of 3,270 BoolQ instances each.

    python bench/site_build.py --runs 10 100 [--data-dir ../shared/data] [--keep DIR]

The runs: one real run of the simple model on BoolQ's whole dev set, 5-shot (the heaviest prompts
of our configs, ~3.3 KB each), made by the real command; then N-1 more written from it by the
runner's own code, each a different synthetic model: for a random half of the instances (seeded
per model) the completion is replaced by the right or the wrong answer with that model's own
skill (uniform in 0.35-0.75), and every per-instance value and stat is recomputed by the real
metric sets of the run's spec (built as the runner builds them) and written by the runner's writers, with a manifest and a status.json. Every tenth
model also has another seed in its spec, so that entry labels must show it.

Realistic for the site: each run has the real sizes (15 MB of request states, the same prompts
as a real 5-shot run: a benchmark's models share their scenario's prompts), real stats, and models
that disagree instance by instance. Not realistic: the completions are all "Yes"/"No" and the
runs are on one scenario (a benchmark of 100 runs spreads over several, which is no heavier).

For each N it prints how much of a core a busy loop gets at that moment, then the wall time, the CPU
time (all processes of the build) and the peak memory
(the whole process tree, sampled every 20 ms) of a cold build (empty build cache), a warm rebuild
(no run changed) and a rebuild after one run changed, the size of the built site, and the load
average before and after. The machine is shared: compare wall times taken at similar loads; the
CPU time depends much less on the load.
"""

import argparse
import dataclasses
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench_common import boolq_simple_command  # noqa: E402
from site_helpers import checkout_metadata, mkdocs_command, mkdocs_env  # noqa: E402

from crfm_eval.adaptation.methods import check_model_supports  # noqa: E402
from crfm_eval.json_io import from_jsonable  # noqa: E402
from crfm_eval.metrics.metric import Metric, metric_info  # noqa: E402
from crfm_eval.objects import create_object  # noqa: E402
from crfm_eval.runner import readers  # noqa: E402
from crfm_eval.runner.metric_info import write_metric_info  # noqa: E402
from crfm_eval.runner.outputs import start_run_folder, write_manifest, write_stats  # noqa: E402
from crfm_eval.runner.recorder import RunRecorder  # noqa: E402
from crfm_eval.runner.runner import metric_specs  # noqa: E402
from crfm_eval.specs import RunSpec  # noqa: E402
from crfm_eval.states import RequestState  # noqa: E402
from crfm_eval.sweeps.job_status import STATUS_FILE  # noqa: E402

SUITE = "bench"


def real_run(output_dir: Path, data_dir: str) -> Path:
    command = boolq_simple_command(data_dir, output_dir, f"suite={SUITE}", "execution.progress=false")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO, env=env)
    return base_run(output_dir)


def base_run(output_dir: Path) -> Path:
    """The real run (the simple model's own name), whatever its folder is called."""
    for run_dir in sorted((output_dir / "runs" / SUITE).glob("*")):
        spec = readers.read_run_spec(run_dir) if readers.is_complete(run_dir) else None
        if spec is not None and spec["model"]["name"] == "simple/deterministic":
            return run_dir
    raise SystemExit(f"no run of the simple model in {output_dir}")


def _answer(state: RequestState, right: bool) -> str:
    correct = [reference.output for reference in state.instance.references if reference.is_correct]
    wrong = [reference.output for reference in state.instance.references if not reference.is_correct]
    if right or not wrong:
        options = correct or ["Yes"]
    else:
        options = wrong
    return " " + options[0]


def synthetic_runs(base: Path, count: int) -> None:
    """Write runs 2..count of `base` under its suite, each a perturbed copy made by the runner's code."""
    spec_data, manifest = readers.read_run_spec(base), readers.read_manifest(base)
    assert spec_data is not None and manifest is not None, f"{base} holds no complete run"
    run_spec = from_jsonable(RunSpec, spec_data)
    states = [from_jsonable(RequestState, state) for state in readers.iter_request_states(base)]
    adaptation = run_spec.adaptation
    status = json.loads((base / STATUS_FILE).read_text())
    adapter_class = check_model_supports(adaptation.method, run_spec.model)
    metrics = [
        create_object(metric._target_, metric.args, Metric, f"metric.{name}._target_")
        for name, metric in metric_specs(adapter_class.metric_specs, run_spec.metric).items()
    ]
    for index in range(2, count + 1):
        rng = random.Random(index)
        skill = rng.uniform(0.35, 0.75)
        model = dataclasses.replace(run_spec.model, name=f"simple/synthetic-{index:03d}")
        name = f"boolq_5shot_simple--synthetic-{index:03d}"
        spec = dataclasses.replace(run_spec, model=model, run_name=name, seed=1 if index % 10 == 0 else run_spec.seed)
        run_dir = base.parent / name
        start_run_folder(run_dir, spec)
        recorder = RunRecorder(run_dir, metrics)  # the runner's writer: JSONL lines, running stats
        for state in states:
            if rng.random() < 0.5 or state.result is None or not state.result.completions:
                recorder.record(state)
                continue
            text = _answer(state, rng.random() < skill)
            first = dataclasses.replace(state.result.completions[0], text=text)
            result = dataclasses.replace(state.result, completions=[first, *state.result.completions[1:]])
            recorder.record(
                dataclasses.replace(state, request=dataclasses.replace(state.request, model=model.name), result=result)
            )
        recorder.finish()
        recorder.close()
        stats, execution_stats = recorder.stats()
        write_stats(run_dir, stats, execution_stats)
        write_metric_info(run_dir, metric_info(metrics), {stat.name for stat in stats + execution_stats})
        write_manifest(run_dir, manifest)
        (run_dir / STATUS_FILE).write_text(json.dumps({**status, "run_name": name, "model": model.name}))


class PeakMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self._rss(pid) for pid in self._tree()))
            self._stop.wait(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def core_share(cpu_seconds: float = 1.0) -> float:
    """The share of one core a busy loop gets right now (1.0 on an idle machine): the noise of the figures."""
    wall, cpu = time.perf_counter(), time.process_time()
    while time.process_time() - cpu < cpu_seconds:
        sum(range(10_000))
    return cpu_seconds / (time.perf_counter() - wall)


def du(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def build(output_dir: Path, site_dir: Path, metadata: Path, label: str) -> None:
    load_before = os.getloadavg()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        mkdocs_command(site_dir),
        env=mkdocs_env(output_dir, metadata),
        cwd=site_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    memory = PeakMemory(process.pid)
    output, _ = process.communicate()
    wall = time.perf_counter() - start
    peak = memory.stop()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if process.returncode != 0:
        raise SystemExit(f"mkdocs build failed:\n{output}")
    print(
        f"  {label:<22} {wall:6.1f} s wall, {cpu:6.1f} s CPU, peak RSS {peak / 2**20:5.0f} MB (process tree), "
        f"site {du(site_dir) / 2**20:5.0f} MB, load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[10, 100])
    parser.add_argument(
        "--data-dir", default=os.environ.get("CRFM_EVAL_DATA_DIR", str(REPO.parent / "shared" / "data"))
    )
    parser.add_argument("--keep", type=Path, help="keep the runs and sites in this folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="crfm_eval_site_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        metadata = checkout_metadata(work / "metadata")
        made = work / "outputs"
        if not (made / "runs" / SUITE).is_dir():
            print("making the runs: one real 3,270-instance run on the simple model, then perturbed copies ...")
            base = real_run(made, args.data_dir)
        else:
            base = base_run(made)
        existing = len(list((made / "runs" / SUITE).glob("*/manifest.json")))
        if existing < max(args.runs):
            synthetic_runs(base, max(args.runs))
        all_runs = sorted(path.parent for path in (made / "runs" / SUITE).glob("*/manifest.json"))
        for count in args.runs:
            output_dir = work / f"outputs-{count}"
            shutil.rmtree(output_dir, ignore_errors=True)
            for run_dir in all_runs[:count]:
                target = output_dir / "runs" / SUITE / run_dir.name
                shutil.copytree(run_dir, target, copy_function=os.link)  # hard links: no copy of the data
            site_dir = work / f"site-{count}"
            print(
                f"{count} runs x 3,270 instances ({os.cpu_count()} CPUs; a busy loop gets {core_share():.2f} of a core "
                f"now, load {os.getloadavg()[0]:.2f}):"
            )
            build(output_dir, site_dir, metadata, "cold (no build cache)")
            build(output_dir, site_dir, metadata, "warm (nothing changed)")
            changed = output_dir / "runs" / SUITE / all_runs[count - 1].name / "stats.json"
            content = changed.read_bytes()
            changed.unlink()  # a hard link to the made runs: write a file of its own
            changed.write_bytes(content)  # a rewritten run: a new modification time
            build(output_dir, site_dir, metadata, "one run changed")
        print(f"reproduce: python bench/site_build.py --runs {' '.join(map(str, args.runs))}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
