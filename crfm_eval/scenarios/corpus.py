"""Text corpora for perplexity: `scenario=corpus`, used with the `language_modeling` adaptation.

Each document is one instance of the `test` split, its text the input, with no references. Files
(`paths`, each a file or a glob pattern; relative ones are looked up in the current directory,
then under `data_dir`) are read by their extension unless `format` says otherwise:
- `.jsonl`: one document a line, its text in `text_field`;
- any other: UTF-8 text, one document per file, or one per line with `document_per: line`.
Blank documents are skipped (a blank line separates nothing from nothing).
"""

import glob
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Union

from crfm_eval.errors import UserError
from crfm_eval.scenarios.download import read_jsonl
from crfm_eval.scenarios.scenario import TEST_SPLIT, Scenario
from crfm_eval.scenarios.user_files import resolve_user_path
from crfm_eval.states import Instance

log = logging.getLogger(__name__)

FORMATS = ("auto", "text", "jsonl")
DOCUMENT_PER = ("file", "line")


@dataclass
class CorpusScenario(Scenario):
    """The documents of text or JSONL files."""

    paths: Union[list[str], str] = field(default_factory=list)
    format: str = "auto"
    document_per: str = "file"
    text_field: str = "text"
    sub_split_field: Optional[str] = None
    """A JSONL field naming each document's part of the corpus (e.g. its source), reported apart."""

    def __post_init__(self) -> None:
        self.patterns = [self.paths] if isinstance(self.paths, str) else list(self.paths)
        if not self.patterns:
            raise UserError("scenario.args.paths must name at least one file (or glob pattern) of the corpus.")
        if self.format not in FORMATS:
            raise UserError(f"scenario.args.format={self.format!r} is not one of {', '.join(FORMATS)}.")
        if self.document_per not in DOCUMENT_PER:
            raise UserError(f"scenario.args.document_per={self.document_per!r} is not one of file, line.")

    def get_instances(self, data_dir: Path) -> list[Instance]:
        instances = []
        for path in self._files(data_dir):
            for number, (text, sub_split) in enumerate(self._documents(path)):
                instances.append(Instance(f"{path.name}-{number}", text, [], TEST_SPLIT, sub_split=sub_split))
        if not instances:
            raise UserError(f"The corpus {', '.join(self.patterns)} has no document that is not blank.")
        ids = [instance.id for instance in instances]
        if len(set(ids)) != len(ids):
            raise UserError("Two corpus files have the same name; rename one (document ids are <file name>-<n>).")
        return instances

    def _files(self, data_dir: Path) -> list[Path]:
        files: list[Path] = []
        for pattern in self.patterns:
            if glob.has_magic(pattern):
                matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
                if not matches and not Path(pattern).is_absolute():
                    matches = sorted(p for p in data_dir.glob(pattern) if p.is_file())
                if not matches:
                    raise UserError(f"scenario.args.paths: {pattern!r} matches no file.")
                files += matches
            else:
                files.append(resolve_user_path(pattern, data_dir, "paths"))
        return list(dict.fromkeys(files))

    def _documents(self, path: Path) -> Iterator[tuple[str, Optional[str]]]:
        is_jsonl = self.format == "jsonl" or (self.format == "auto" and path.suffix == ".jsonl")
        if is_jsonl:
            for line_number, row in read_jsonl(path, fix="fix that line"):
                text = row.get(self.text_field)
                if not isinstance(text, str):
                    fields = ", ".join(sorted(row)) or "none"
                    raise UserError(
                        f"{path} line {line_number} has no text field {self.text_field!r} "
                        f"(scenario.args.text_field); its fields are: {fields}."
                    )
                sub_split = row.get(self.sub_split_field) if self.sub_split_field else None
                if text.strip():
                    yield text, None if sub_split is None else str(sub_split)
            return
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            line = path.read_bytes()[: error.start].count(b"\n") + 1
            raise UserError(f"{path} line {line} is not UTF-8 text; save the file as UTF-8.") from None
        documents = content.splitlines() if self.document_per == "line" else [content]
        for document in documents:
            if document.strip():
                yield document, None
