"""Text corpora for perplexity, with BoolQ's passages as the corpus: one document per JSONL line,
per text line, or per file; the mistakes a user can make, in one sentence."""

import json

import pytest

from crfm_eval.errors import UserError
from crfm_eval.scenarios.corpus import CorpusScenario


@pytest.fixture(scope="module")
def passages(shared_data):
    return [json.loads(line)["passage"] for line in (shared_data / "boolq" / "dev.jsonl").read_text().splitlines()]


def test_a_jsonl_corpus_is_one_document_a_line(shared_data, passages):
    documents = CorpusScenario(paths=["boolq/dev.jsonl"], text_field="passage").get_instances(shared_data)
    assert len(documents) == 3270 and [d.input for d in documents] == passages
    assert documents[0].id == "dev.jsonl-0" and documents[0].split == "test" and documents[0].references == []


def test_text_files_one_document_per_line_or_per_file(tmp_path, passages):
    per_line = tmp_path / "passages.txt"
    per_line.write_text("\n\n".join(passages[:20]) + "\n")  # blank lines between documents are skipped
    documents = CorpusScenario(paths=[str(per_line)], document_per="line").get_instances(tmp_path)
    assert [d.input for d in documents] == passages[:20]
    for index in range(3):
        (tmp_path / "books" / f"book{index}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "books" / f"book{index}.txt").write_text(passages[index] + "\n" + passages[index + 3])
    documents = CorpusScenario(paths=[str(tmp_path / "books" / "*.txt")]).get_instances(tmp_path)
    assert [d.id for d in documents] == ["book0.txt-0", "book1.txt-0", "book2.txt-0"]
    assert documents[1].input == passages[1] + "\n" + passages[4]


def test_corpus_mistakes(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"text": "one"}\n{"body": "two"}\n')
    with pytest.raises(UserError, match=r"rows.jsonl line 2 has no text field 'text' .*; its fields are: body."):
        CorpusScenario(paths=[str(tmp_path / "rows.jsonl")]).get_instances(tmp_path)
    with pytest.raises(UserError, match=r"'nothing/\*.txt' matches no file"):
        CorpusScenario(paths=["nothing/*.txt"]).get_instances(tmp_path)
    (tmp_path / "latin1.txt").write_bytes("first line\nsecond caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1.txt line 2 is not UTF-8 text"):
        CorpusScenario(paths=[str(tmp_path / "latin1.txt")]).get_instances(tmp_path)
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(UserError, match="has no document that is not blank"):
        CorpusScenario(paths=[str(tmp_path / "blank.txt")]).get_instances(tmp_path)
    with pytest.raises(UserError, match="must name at least one file"):
        CorpusScenario()
    with pytest.raises(UserError, match="document_per='page' is not one of file, line"):
        CorpusScenario(paths=["x"], document_per="page")
