"""Where the request rate goes: bench/request_rate.py's run taken apart, one stage added at a time.

    python bench/request_rate_stages.py [--latency 0.05] [--requests 1000] [--threads 16 64]

The same fixed-latency server and the same 1,000 BoolQ 5-shot requests as bench/request_rate.py,
each stage in a fresh process with a fresh cache, measured from the first request to the last
result (a fraction of the limit N threads / LATENCY, and this process's CPU per request):

1. http: N threads sending the run's own requests with urllib3 (the client's library), nothing else;
2. executor: crfm_eval's Executor (cache lookup, client, cache commit) over states adapted beforehand;
3. + adaptation: the states adapted while the requests are in flight, as a run does;
4. + recorder: each result recorded (metrics, scenario_state.jsonl, per-instance stats), the
   offline toxicity model loading in the helper process meanwhile, as in a cold run;
5. + recorder, model loaded: the same with the toxicity model already loaded.

What the real command adds to stage 4 (Hydra, the quantile helper, the run folder, the end of the
run) is bench/request_rate.py's figure. Each stage's loss over the previous one is what that
stage costs the request rate on this machine.
"""

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_common import default_data_dir, load
from request_rate import run_overrides, start_server

STAGES = ("http", "executor", "+adaptation", "+recorder", "+recorder, model loaded")


def measure(stage: str, base_url: str, threads: int, requests: int, data_dir: str) -> tuple[float, float]:
    """(seconds, CPU seconds) of `stage`, in this process."""
    from crfm_eval.adaptation.methods import check_model_supports, create_adapter
    from crfm_eval.config_schema import compose_run_spec
    from crfm_eval.execution.executor import Executor
    from crfm_eval.metrics.metric import Metric
    from crfm_eval.models.credentials import Credentials
    from crfm_eval.objects import create_object
    from crfm_eval.runner.recorder import RunRecorder
    from crfm_eval.runner.runner import create_service, metric_specs
    from crfm_eval.scenarios.scenario import Scenario

    folder = Path(tempfile.mkdtemp(prefix="crfm_eval_stages_"))
    spec = compose_run_spec(*run_overrides(base_url, requests, threads, data_dir, str(folder)))
    scenario = create_object(spec.scenario._target_, spec.scenario.args, Scenario, "scenario")
    service = create_service(spec)
    adapter = create_adapter(spec.adaptation, spec.model, service, spec.seed)
    plan = adapter.plan(scenario.get_instances(Path(spec.data_dir)), spec.max_eval_instances)
    lazy = stage not in ("http", "executor")
    states = plan.request_states if lazy else list(plan.request_states)
    recorder = None
    if stage.startswith("+recorder"):
        method = check_model_supports(spec.adaptation.method, spec.model)
        provided = {"credentials": Credentials(), "cache_dir": spec.execution.cache_dir}
        chosen = metric_specs(method.metric_specs + type(scenario).metric_specs, spec.metric)
        metrics = [create_object(s._target_, s.args, Metric, name, provided) for name, s in chosen.items()]
        (folder / "run").mkdir()
        recorder = RunRecorder(folder / "run", metrics)
        if stage.endswith("model loaded"):
            from crfm_eval.metrics import offline_toxicity

            offline_toxicity.submit(["load the model first"]).result()
    start, cpu = time.perf_counter(), time.process_time()
    if stage == "http":
        _bare_http(base_url, [state.request for state in states], threads)
    else:
        for state in Executor(spec.execution, service).execute(states, plan.num_requests):
            if recorder is not None:
                recorder.record(state)
        if recorder is not None:
            recorder.finish()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    service.close()
    return seconds, cpu_seconds


def _bare_http(base_url: str, requests: list, threads: int) -> None:
    """The requests' bodies POSTed by `threads` threads with urllib3, the answers parsed, nothing more."""
    import orjson
    import urllib3

    http = urllib3.PoolManager(maxsize=threads)
    url = base_url.rstrip("/") + "/completions"
    bodies = iter(
        [
            orjson.dumps({"model": r.model, "prompt": r.prompt, "max_tokens": r.max_tokens, "logprobs": 1})
            for r in requests
        ]
    )
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                body = next(bodies, None)
            if body is None:
                return
            orjson.loads(http.request("POST", url, body=body, headers={"Content-Type": "application/json"}).data)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # one stage, in a process of its own
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        seconds, cpu = measure(args.stage, args.base_url, args.threads[0], args.requests, args.data_dir)
        print(seconds, cpu)
        return
    server, base_url = start_server(args.latency)
    print(f"fixed-latency server at {base_url}, latency {args.latency * 1000:.0f} ms, {args.requests} requests")
    try:
        for threads in args.threads:
            limit = threads / args.latency
            for stage in STAGES:
                before = load()
                command = [sys.executable, __file__, "--stage", stage, "--base-url", base_url]
                command += ["--threads", str(threads), "--requests", str(args.requests), "--data-dir", args.data_dir]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"stage {stage!r} failed:\n{done.stderr}")
                seconds, cpu = map(float, done.stdout.split()[-2:])
                rate = args.requests / seconds
                print(
                    f"{threads:3d} threads | {stage:24s} | {rate:5.0f} req/s = {rate / limit:.3f} of the limit | "
                    f"{cpu / args.requests * 1000:.2f} ms CPU/request | {before}; after: {load()}",
                    flush=True,
                )
    finally:
        server.kill()
        server.wait()
    print(
        f"reproduce: python bench/request_rate_stages.py --latency {args.latency} --requests {args.requests} "
        f"--threads {' '.join(map(str, args.threads))}"
    )


if __name__ == "__main__":
    main()
