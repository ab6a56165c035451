"""How long each scenario takes to read its data into instances (sha256 checks included), and a
user's 100,000-row JSONL and CSV file.

    python bench/scenario_loading.py [--data-dir ../shared/data] [--rows 100000]

Prints seconds, instances per second and the process's peak RSS after each scenario, with the load
average (the machine is shared: figures move with it).
"""

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from crfm_eval.scenarios.boolq import BoolQScenario
from crfm_eval.scenarios.imdb import IMDBScenario
from crfm_eval.scenarios.mmlu import MMLUScenario
from crfm_eval.scenarios.scenario import Scenario
from crfm_eval.scenarios.user_files import CSVScenario, JSONLScenario

REPO = Path(__file__).resolve().parents[1]


def _synthetic(folder: Path, rows: int) -> tuple[Path, Path]:
    jsonl, csv_file = folder / "rows.jsonl", folder / "rows.csv"
    with jsonl.open("w") as out_jsonl, csv_file.open("w") as out_csv:
        out_csv.write("question,A,B,C,D,answer,subject\n")
        for index in range(rows):
            question = f"Question {index}: which of these numbers is {index % 4}?"
            subject = f"subject_{index % 57}"
            out_jsonl.write(
                json.dumps(
                    {"question": question, "options": ["0", "1", "2", "3"], "answer": index % 4, "subject": subject}
                )
                + "\n"
            )
            out_csv.write(f'"{question}",0,1,2,3,{"ABCD"[index % 4]},{subject}\n')
    return jsonl, csv_file


def _measure(name: str, scenario: Scenario, data_dir: Path) -> None:
    started = time.perf_counter()
    instances = scenario.get_instances(data_dir)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name:<16} {len(instances):>8} instances  {seconds:7.3f} s  {len(instances) / seconds:>10,.0f} /s  "
        f"peak RSS {peak_mb:6.0f} MB  load {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("CRFM_EVAL_OFFLINE", "1")
    print(f"python bench/scenario_loading.py --data-dir {args.data_dir} --rows {args.rows}")
    _measure("boolq", BoolQScenario(), args.data_dir)
    _measure("boolq_contrast", BoolQScenario(contrast_sets=True), args.data_dir)
    _measure("mmlu (present)", MMLUScenario(subjects=None), args.data_dir)
    _measure("imdb (sample)", IMDBScenario(), args.data_dir)
    with tempfile.TemporaryDirectory() as folder:
        jsonl, csv_file = _synthetic(Path(folder), args.rows)
        options = {"input_field": "question", "sub_split_field": "subject"}
        _measure("jsonl", JSONLScenario(path=str(jsonl), choices_field="options", **options), args.data_dir)
        _measure("csv", CSVScenario(path=str(csv_file), choice_fields=["A", "B", "C", "D"], **options), args.data_dir)


if __name__ == "__main__":
    main()
