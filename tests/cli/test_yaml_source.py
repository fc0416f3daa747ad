"""The YAML source guard on its own: lines per path, duplicate keys, hostile and unreadable files.

The CLI-level behaviour (exit codes, nothing sent) is in test_definitions_errors.py and
test_cli_hardening.py; these pin down what the guard hands the schema, without the schema.
"""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

from sg_bitbucket_iac.cli.yaml_source import MAX_EXPANDED_NODES, YamlDocument, read_text, read_yaml
from sg_bitbucket_iac.errors import DefinitionsError
from sg_bitbucket_iac.model import Problem

SENTINEL = "SENTINEL-yaml-source-5d2a"


def write(tmp_path: Path, text: str, name: str = "defs.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(caught: pytest.ExceptionInfo[DefinitionsError]) -> list[tuple[str, str, str]]:
    return [(p.path, p.message, p.rule) for p in caught.value.problems]


def test_every_key_and_item_has_the_line_it_was_written_on(tmp_path: Path) -> None:
    document = read_yaml(write(tmp_path, """\
        org: acme
        connectors:
          - name: main
            auth:
              type: api_token
          - {name: second}
        """))
    assert document.data["connectors"][1] == {"name": "second"}
    assert document.lines["org"] == 1
    assert document.lines["connectors[0]"] == 3
    assert document.lines["connectors[0].auth.type"] == 5
    assert document.lines["connectors[1].name"] == 6
    assert document.problems == []


def test_a_problem_takes_the_line_of_its_nearest_written_parent(tmp_path: Path) -> None:
    document = read_yaml(write(tmp_path, "connectors:\n  - name: main\n    auth: {type: api_token}\n"))
    missing = document.located(Problem("connectors[0].auth.email", "required", "required"))
    assert missing.message == "required (line 3)" and missing.path == "connectors[0].auth.email"
    assert document.located(Problem("", "the file is wrong")).message == "the file is wrong"


def test_duplicate_keys_are_problems_with_both_lines_and_aliases_are_indexed_once(tmp_path: Path) -> None:
    document = read_yaml(write(tmp_path, """\
        base: &auth {type: api_token, type: access_token}
        connectors:
          - {name: a, auth: *auth}
          - {name: b, auth: *auth}
        org: acme
        org: other
        """))
    assert [p.rule for p in document.problems] == ["duplicate", "duplicate"]
    assert "also on line 5" in next(p.message for p in document.problems if p.path == "org")
    # The aliased node is indexed at one of its three paths, so its duplicate is reported once.
    aliased = {"base.type", "connectors[0].auth.type", "connectors[1].auth.type"}
    [inner] = [p for p in document.problems if p.path in aliased]
    assert "also on line 1" in inner.message and len(aliased & set(document.lines)) == 1
    assert document.data["org"] == "other"  # what YAML keeps; the duplicate problem stops the command


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    document = read_yaml(write(tmp_path, "base: &b {name: x}\nother: {<<: *b, <<: *b, name: y}\n"))
    assert document.problems == [] and document.data["other"] == {"name": "y"}


def test_an_empty_file_is_no_data(tmp_path: Path) -> None:
    assert read_yaml(write(tmp_path, "# only a comment\n")) == YamlDocument(None)


def test_syntax_errors_give_file_line_and_column_but_never_the_line_itself(tmp_path: Path) -> None:
    path = write(tmp_path, f"connectors:\n  - name: [{SENTINEL}\n    workspace: acme\n")
    with pytest.raises(DefinitionsError) as caught:
        read_yaml(path)
    [(where, message, rule)] = problems(caught)
    assert where.startswith("defs.yaml:") and where.count(":") == 2 and rule == "yaml"
    assert message.startswith("YAML syntax error: ") and SENTINEL not in message


def test_a_tab_is_named_as_the_cause(tmp_path: Path) -> None:
    with pytest.raises(DefinitionsError) as caught:
        read_yaml(write(tmp_path, "connectors:\n  - name: x\n\tworkspace: acme\n"))
    [(where, message, _)] = problems(caught)
    assert where == "defs.yaml:3:1" and message.endswith("that is a tab: YAML indents with spaces only")


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    with pytest.raises(DefinitionsError) as caught:
        read_yaml(write(tmp_path, "\n".join(levels) + "\n"))  # 10**7 values once expanded
    [(_, message, rule)] = problems(caught)
    assert rule == "alias_expansion" and f"more than {MAX_EXPANDED_NODES} values" in message


def test_shared_anchors_below_the_cap_are_fine(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 4)]
    document = read_yaml(write(tmp_path, "\n".join(levels) + "\n"))  # 10**4 values
    assert len(document.data["a3"]) == 10 and document.problems == []


def test_a_recursive_alias_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(DefinitionsError) as caught:
        read_yaml(write(tmp_path, "org: acme\nconnectors: &c [*c]\n"))
    [(where, message, _)] = problems(caught)
    assert where == "defs.yaml:2" and "recursive alias" in message


def test_files_that_are_not_utf8_or_not_readable_are_named(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("org: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionsError) as caught:
        read_text(latin1)
    assert problems(caught) == [(str(latin1), "not UTF-8 text; save the file as UTF-8", "invalid")]
    with pytest.raises(DefinitionsError) as caught:
        read_text(tmp_path / "missing.yaml")
    assert problems(caught) == [(str(tmp_path / "missing.yaml"), "cannot read the file: No such file or directory",
                                 "invalid")]
    with pytest.raises(DefinitionsError) as caught:
        read_text(tmp_path)  # a directory
    assert problems(caught)[0][1].startswith("cannot read the file: ")


def test_a_stream_is_read_no_further_than_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sg_bitbucket_iac.cli.yaml_source as yaml_source

    monkeypatch.setattr(yaml_source, "MAX_FILE_BYTES", 64)
    big = write(tmp_path, "x" * 65)
    with pytest.raises(DefinitionsError) as caught:
        read_text(big)
    assert problems(caught)[0][1:] == ("the file has 65 bytes, more than the 64 a definitions file may have; "
                                       "split it", "too_large")
    fifo = tmp_path / "stream.yaml"
    os.mkfifo(fifo)  # stat says 0 bytes; the reader must still stop at the cap

    def feed() -> None:
        with open(fifo, "wb") as handle:  # blocks until the reader opens the pipe
            handle.write(b"y" * 200)  # fits the pipe's buffer: written whole before the reader stops

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with pytest.raises(DefinitionsError) as caught:
            read_text(fifo)
        assert problems(caught)[0][1:] == ("the file has more than 64 bytes; split it", "too_large")
    finally:
        writer.join(timeout=10)
    assert not writer.is_alive()
