"""How a row of a user's JSONL or CSV file becomes an Instance, with no code: which fields hold the
input, the options, the answer, the split and the sub-split.

- Input: one field (`input_field`), or a template over the row's fields (`input_template`, e.g.
  "{passage}\\nQuestion: {question}?", as lm-eval's `doc_to_text`; only plain field names).
- Options (references): a field holding a list of strings (`choices_field`), fields holding one
  option each (`choice_fields`, e.g. [A, B, C, D] in a CSV file), a fixed list (`choices`, e.g.
  ["no", "yes"]), or none: then the answer is the text of the one right reference.
- Answer (`answer_field`): an option's index (0-based), an option's text, an option's letter (A, B,
  ...), or a boolean when there are two options (false = the first). Without options: a string, or
  a list of strings (several right answers).

Every mistake is one sentence naming the file, the line and what the row holds.
"""

import string
from dataclasses import dataclass
from typing import Any, Optional

from crfm_eval.errors import UserError
from crfm_eval.scenarios.scenario import TEST_SPLIT, TRAIN_SPLIT, VALID_SPLIT
from crfm_eval.states import CORRECT_TAG, Instance, Reference

SPLIT_NAMES = {
    TRAIN_SPLIT: TRAIN_SPLIT,
    VALID_SPLIT: VALID_SPLIT,
    "validation": VALID_SPLIT,
    "dev": VALID_SPLIT,
    TEST_SPLIT: TEST_SPLIT,
}
"""Split names a file may use, and the split each becomes."""

_TRUE = ("true", "yes")
_FALSE = ("false", "no")


def split_name(value: Any, where: str) -> str:
    if isinstance(value, str) and value.strip().lower() in SPLIT_NAMES:
        return SPLIT_NAMES[value.strip().lower()]
    raise UserError(f"{where}: the split {value!r} is not one of {', '.join(SPLIT_NAMES)}; fix the row or the split.")


def _template_fields(template: str) -> list[str]:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise UserError(f"scenario.args.input_template={template!r} is not a valid template ({error}).") from None
    for name in names:
        if not name.isidentifier():
            raise UserError(
                f"scenario.args.input_template names {{{name}}}; use plain field names such as {{question}} "
                "(write {{ and }} for literal braces)."
            )
    return names


@dataclass(frozen=True)
class RowFormat:
    """Which fields of a row make the instance (see the module's docstring)."""

    answer_field: str
    input_field: Optional[str] = None
    input_template: Optional[str] = None
    choices_field: Optional[str] = None
    choice_fields: Optional[list[str]] = None
    choices: Optional[list[str]] = None
    split_field: Optional[str] = None
    sub_split_field: Optional[str] = None
    id_field: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.input_field is None) == (self.input_template is None):
            raise UserError("Give exactly one of scenario.args.input_field and scenario.args.input_template.")
        if sum(option is not None for option in (self.choices_field, self.choice_fields, self.choices)) > 1:
            raise UserError(
                "Give at most one of scenario.args.choices_field, scenario.args.choice_fields and scenario.args.choices."
            )
        if self.choice_fields is not None and not self.choice_fields:
            raise UserError("scenario.args.choice_fields must name at least one field.")
        if self.choices is not None and (not self.choices or not all(isinstance(c, str) for c in self.choices)):
            raise UserError(f"scenario.args.choices={self.choices!r} must be a non-empty list of strings.")
        if self.input_template is not None:
            _template_fields(self.input_template)

    def instance(
        self, row: dict[str, Any], where: str, split: str, line_number: int, id_prefix: Optional[str] = None
    ) -> Instance:
        """The row as an Instance; `where` is "<file> line <n>" for the error messages. Without an
        id field, its id is `<id_prefix or its split>-<line number>`."""
        text = self._input(row, where)
        options = self._options(row, where)
        answer = self._field(row, self.answer_field, "answer_field", where)
        if options is None:
            golds = answer if isinstance(answer, list) else [answer]
            if not golds or not all(isinstance(gold, str) for gold in golds):
                raise UserError(
                    f"{where}: with no options the answer must be a string or a list of strings, not {answer!r}; "
                    "or name the options with scenario.args.choices, choices_field or choice_fields."
                )
            references = [Reference(gold, [CORRECT_TAG]) for gold in golds]
        else:
            right = _answer_index(answer, options, where)
            references = [Reference(option, [CORRECT_TAG] if i == right else []) for i, option in enumerate(options)]
        if self.split_field is not None:
            split = split_name(self._field(row, self.split_field, "split_field", where), where)
        sub_split = None
        if self.sub_split_field is not None:
            sub_split = str(self._field(row, self.sub_split_field, "sub_split_field", where))
        instance_id = f"{id_prefix or split}-{line_number}"
        if self.id_field is not None:
            instance_id = str(self._field(row, self.id_field, "id_field", where))
        return Instance(instance_id, text, references, split, sub_split=sub_split)

    def _field(self, row: dict[str, Any], name: str, argument: str, where: str) -> Any:
        value = _lookup(row, name)
        if value is _ABSENT:
            fields = ", ".join(sorted(str(key) for key in row)) or "none"
            raise UserError(f"{where} has no field {name!r} (scenario.args.{argument}); its fields are: {fields}.")
        if value is None:
            raise UserError(f"{where}: the field {name!r} (scenario.args.{argument}) is empty.")
        return value

    def _input(self, row: dict[str, Any], where: str) -> str:
        if self.input_field is not None:
            value = self._field(row, self.input_field, "input_field", where)
            if not isinstance(value, str):
                raise UserError(f"{where}: the input field {self.input_field!r} holds {value!r}, not text.")
            return value
        template = str(self.input_template)
        values = {name: self._field(row, name, "input_template", where) for name in _template_fields(template)}
        return template.format_map(values)

    def _options(self, row: dict[str, Any], where: str) -> Optional[list[str]]:
        if self.choices is not None:
            return list(self.choices)
        if self.choice_fields is not None:
            return [str(self._field(row, name, "choice_fields", where)) for name in self.choice_fields]
        if self.choices_field is None:
            return None
        options = self._field(row, self.choices_field, "choices_field", where)
        if not isinstance(options, list) or not options or not all(isinstance(option, str) for option in options):
            raise UserError(
                f"{where}: the field {self.choices_field!r} (scenario.args.choices_field) holds {options!r}, "
                "not a list of strings."
            )
        return options


def _answer_index(answer: Any, options: list[str], where: str) -> int:
    """The index of the right option: by index, text, letter, or boolean (two options)."""
    index: Optional[int] = None
    if isinstance(answer, bool):
        index = int(answer) if len(options) == 2 else None
    elif isinstance(answer, int):
        index = answer if 0 <= answer < len(options) else None
    elif isinstance(answer, str):
        text = answer.strip()
        if answer in options or text in options:
            index = options.index(answer if answer in options else text)
        elif text.isdigit() and int(text) < len(options):
            index = int(text)
        elif len(text) == 1 and "A" <= text <= "Z" and ord(text) - ord("A") < len(options):
            index = ord(text) - ord("A")
        elif len(options) == 2 and text.lower() in _TRUE + _FALSE:
            index = int(text.lower() in _TRUE)
    if index is None:
        two = ", or a boolean" if len(options) == 2 else ""
        raise UserError(
            f"{where}: the answer {answer!r} is not an option's index (0-{len(options) - 1}), text or letter{two}; "
            f"the options are {options}."
        )
    return index


_ABSENT = object()


def _lookup(row: dict[str, Any], name: str) -> Any:
    """`row[name]`, or for a dotted name of nested objects (`prompt.text`) the value at that path."""
    if name in row:
        return row[name]
    value: Any = row
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value
