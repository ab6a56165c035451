"""A scenario read from a JSONL file, one instance per line, never held in memory as a whole.

Each line: {"id": ..., "input": ..., "output": ..., "split": "train" | "valid" | "test"}. The
instances are read again each time they are iterated (adaptation goes over them up to three
times), so a 100,000-line file costs the memory of one line. Used by bench/streaming_memory.py;
`make_file` writes such a file of arithmetic questions.
"""

from collections.abc import Iterator
from pathlib import Path

import orjson

from crfm_eval.scenarios.scenario import Scenario
from crfm_eval.states import CORRECT_TAG, Instance, Reference


class JsonlInstances:
    """The instances of a JSONL file, re-read at every iteration."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[Instance]:
        with open(self.path, "rb") as lines:
            for line in lines:
                row = orjson.loads(line)
                yield Instance(row["id"], row["input"], [Reference(row["output"], [CORRECT_TAG])], row["split"])


class SyntheticJsonlScenario(Scenario):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def get_instances(self, data_dir: Path) -> JsonlInstances:
        return JsonlInstances(self.path)


def make_file(path: Path, num_eval: int, num_train: int = 100) -> None:
    """`num_train` train questions, then `num_eval` test questions: "Is 12 even?" -> Yes/No."""
    with open(path, "wb") as out:
        for split, count in (("train", num_train), ("test", num_eval)):
            for index in range(count):
                number = index * 7919 % 1000003
                row = {
                    "id": f"{split}-{index}",
                    # Train and test inputs differ: an eval input found in the train pool is never an example.
                    "input": f"{'Example' if split == 'train' else 'Question'} {index}: is {number} an even number?",
                    "output": "Yes" if number % 2 == 0 else "No",
                    "split": split,
                }
                out.write(orjson.dumps(row) + b"\n")
