"""Your own data, no code: `scenario=jsonl` and `scenario=csv`.

The rows come from one file (`path`; every row in `split`, or in the split its `split_field` names)
or from one file per split (`splits: {train: ..., valid: ..., test: ...}`), plus an optional file of
in-context examples (`few_shot_path`, the train split). How a row becomes an instance is a
`RowFormat` (see user_rows.py). A relative path is looked up in the current directory, then under
`data_dir`. A CSV file has a header row, unless `columns` names its columns.
"""

import csv
import dataclasses
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from crfm_eval.errors import UserError
from crfm_eval.scenarios.download import read_jsonl
from crfm_eval.scenarios.scenario import TRAIN_SPLIT, Scenario
from crfm_eval.scenarios.user_rows import RowFormat, split_name
from crfm_eval.states import Instance

FEW_SHOT = "few_shot"


def resolve_user_path(name: str, data_dir: Path, argument: str) -> Path:
    """`name` as given if it exists (absolute, or relative to the current directory), else under data_dir."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    if not path.is_absolute() and (data_dir / path).is_file():
        return data_dir / path
    where = str(path) if path.is_absolute() else f"{Path.cwd() / path} or {data_dir / path}"
    raise UserError(f"scenario.args.{argument}={name!r} is not a file (looked for {where}); give the file's path.")


@dataclass
class UserFileScenario(Scenario):
    """Rows of the user's files as instances; subclasses read one file format.

    A dataclass so that its arguments are its signature: a misspelt argument is refused by name.
    """

    path: Optional[str] = None
    splits: Optional[dict[str, str]] = None
    split: str = "test"
    split_field: Optional[str] = None
    few_shot_path: Optional[str] = None
    input_field: Optional[str] = None
    input_template: Optional[str] = None
    choices_field: Optional[str] = None
    choice_fields: Optional[list[str]] = None
    choices: Optional[list[str]] = None
    answer_field: Optional[str] = "answer"
    sub_split_field: Optional[str] = None
    id_field: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.splits is None):
            raise UserError(
                "Give exactly one of scenario.args.path (one file) and scenario.args.splits "
                "(one file per split, e.g. {train: train.jsonl, test: test.jsonl})."
            )
        if self.splits is not None and self.split_field is not None:
            raise UserError("scenario.args.split_field applies to scenario.args.path only; with splits, drop it.")
        if not self.answer_field:
            raise UserError("scenario.args.answer_field must name the field that holds the answer.")
        # (split, file, the argument that named it, the row format that reads it)
        row_format = RowFormat(
            answer_field=self.answer_field,
            input_field=self.input_field,
            input_template=self.input_template,
            choices_field=self.choices_field,
            choice_fields=list(self.choice_fields) if self.choice_fields is not None else None,
            choices=list(self.choices) if self.choices is not None else None,
            split_field=self.split_field,
            sub_split_field=self.sub_split_field,
            id_field=self.id_field,
        )
        self.sources: list[tuple[str, str, str, RowFormat]] = []
        if self.path is not None:
            self.sources.append((split_name(self.split, "scenario.args.split"), self.path, "path", row_format))
        for name, file in dict(self.splits or {}).items():
            self.sources.append((split_name(name, "scenario.args.splits"), file, "splits", row_format))
        if self.few_shot_path is not None:
            # Every in-context example is in the train split, whatever its row says.
            few_shot_format = dataclasses.replace(row_format, split_field=None)
            self.sources.append((TRAIN_SPLIT, self.few_shot_path, "few_shot_path", few_shot_format))

    @abstractmethod
    def rows(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, row) of each row of `path`; malformed text is a UserError naming the line."""

    def get_instances(self, data_dir: Path) -> list[Instance]:
        instances: list[Instance] = []
        seen: dict[str, str] = {}
        for split, file, argument, row_format in self.sources:
            path = resolve_user_path(file, data_dir, argument)
            id_prefix = FEW_SHOT if argument == "few_shot_path" else None
            count = 0
            for line_number, row in self.rows(path):
                where = f"{path} line {line_number}"
                instance = row_format.instance(row, where, split, line_number, id_prefix)
                if instance.id in seen:
                    raise UserError(
                        f"{where} repeats the id {instance.id!r} of {seen[instance.id]}; ids must be unique."
                    )
                seen[instance.id] = where
                instances.append(instance)
                count += 1
            if count == 0:
                raise UserError(f"{path} has no rows; give a file with at least one.")
        return instances


class JSONLScenario(UserFileScenario):
    """One JSON object a line."""

    def rows(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        return read_jsonl(path, fix="fix that line")


@dataclass
class CSVScenario(UserFileScenario):
    """Comma-separated values (or another `delimiter`) with a header row, or the names in `columns`."""

    columns: Optional[list[str]] = None
    delimiter: str = ","

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.columns is not None and (not self.columns or not all(isinstance(c, str) for c in self.columns)):
            raise UserError(f"scenario.args.columns={self.columns!r} must be a non-empty list of column names.")
        if len(self.delimiter) != 1:
            raise UserError(f"scenario.args.delimiter={self.delimiter!r} must be one character.")

    def rows(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        line_number = 0
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle, delimiter=self.delimiter)
                header = list(self.columns) if self.columns is not None else None
                if header is None:
                    header = next(reader, None)
                    line_number = reader.line_num
                    if not header:
                        raise UserError(
                            f"{path} has no header row; add one, or name the columns in scenario.args.columns."
                        )
                for values in reader:
                    start, line_number = line_number + 1, reader.line_num
                    if not values:
                        continue
                    if len(values) != len(header):
                        raise UserError(
                            f"{path} line {start} has {len(values)} fields but the header has {len(header)} "
                            f"({', '.join(header)}); fix that line."
                        )
                    yield start, dict(zip(header, values, strict=True))
        except csv.Error as error:
            raise UserError(f"{path} line {line_number + 1} is not valid CSV ({error}); fix that line.") from None
        except UnicodeDecodeError:
            raise UserError(f"{path} line {line_number + 1} is not UTF-8 text; save the file as UTF-8.") from None
