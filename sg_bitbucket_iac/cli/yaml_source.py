"""The YAML source guard: reading a file the CLI is given, safely, with a line for every path.

Both files the CLI reads (definitions, and the `migrate --mapping` file) come through here, so their
problems carry a path and the line it was written on, and hostile files are refused early and in
linear time: a file over :data:`MAX_FILE_BYTES`, or one whose aliases would expand to more than
:data:`MAX_EXPANDED_NODES` nodes (a "billion laughs" bomb), is an error before anything walks the
expansion; line numbers are indexed once per node, not per alias. Duplicate keys, which YAML would
silently resolve to the last one, are problems here too.

What the values mean (keys, entries, secret references) is :mod:`.definitions`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DefinitionsError, Problem
from ..problems import display_key, join_path

# A definitions file of 10,000 connectors is about 3 MiB; anything far larger is not one.
MAX_FILE_BYTES = 8 * 1024 * 1024
# Nodes after alias expansion: generous for anchors shared by thousands of connectors, far below a bomb.
MAX_EXPANDED_NODES = 1_000_000


@dataclass
class YamlDocument:
    """A parsed file, the line of each path in it, and the problems found in it so far."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)  # path -> 1-based line
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: str, message: str, rule: str = "invalid") -> None:
        self.problems.append(Problem(path, message, rule))

    def located(self, problem: Problem) -> Problem:
        """The problem with `(line N)` of its path, or of its nearest parent that has one."""
        path = problem.path
        while path:
            line = self.lines.get(path)
            if line is not None:
                return Problem(problem.path, f"{problem.message} (line {line})", problem.rule)
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return problem


def read_text(source: Path) -> str:
    """The file as UTF-8 text, read at most :data:`MAX_FILE_BYTES` (+1) bytes deep whatever it is."""
    try:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DefinitionsError([Problem(str(source), f"the file has {size} bytes, more than the "
                                            f"{MAX_FILE_BYTES} a definitions file may have; split it", "too_large")])
        with source.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise DefinitionsError([Problem(str(source), f"cannot read the file: {error.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:  # grew since stat, or not a regular file
        raise DefinitionsError([Problem(str(source), f"the file has more than {MAX_FILE_BYTES} bytes; split it",
                                        "too_large")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionsError([Problem(str(source), "not UTF-8 text; save the file as UTF-8")]) from None


def read_yaml(source: Path) -> YamlDocument:
    """Parse one YAML document with its line index; raise :class:`DefinitionsError` if it cannot be read."""
    import yaml

    text = read_text(source)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None)
        if "*" in text:  # an alias is written `*name`: without one nothing can expand or recurse
            _check_expansion(node, source)
        document = YamlDocument(None)
        _index(node, "", document)
        document.data = loader.construct_document(node)
        return document
    except yaml.MarkedYAMLError as error:
        # Only the parser's own words (problem/context): its snippet of the line could hold a secret.
        mark = error.problem_mark or error.context_mark
        where = f"{source.name}:{mark.line + 1}:{mark.column + 1}" if mark else source.name
        detail = error.problem or "invalid YAML"
        if error.context:
            detail += f" ({error.context})"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            detail += "; that is a tab: YAML indents with spaces only"
        raise DefinitionsError([Problem(where, f"YAML syntax error: {detail}", "yaml")]) from None
    except yaml.YAMLError as error:
        raise DefinitionsError([Problem(source.name, f"YAML error: {type(error).__name__}", "yaml")]) from None
    except RecursionError:
        raise DefinitionsError([Problem(source.name, "the YAML nests too deeply; flatten it", "yaml")]) from None
    finally:
        loader.dispose()


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column:column + 1] if 0 <= line < len(lines) else ""


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Any, source: Path) -> None:
    """Refuse a document whose aliases expand past MAX_EXPANDED_NODES, or that contains itself.

    The expanded size is computed once per node (memoised over the node graph), so this costs time
    linear in the file, however many times an alias is used. Iterative: no recursion limit to hit.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = min(MAX_EXPANDED_NODES + 1, 1 + sum(sizes[id(child)] for child in _children(node)))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise DefinitionsError([Problem(
                f"{source.name}:{node.start_mark.line + 1}",
                "an alias refers to a node that contains it (a recursive alias); write the value out", "yaml")])
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    if sizes[id(root)] > MAX_EXPANDED_NODES:
        raise DefinitionsError([Problem(
            source.name,
            f"the YAML's aliases (*name) expand to more than {MAX_EXPANDED_NODES} values (an alias bomb?); "
            "write the values out or use fewer nested aliases", "alias_expansion")])


def _index(root: Any, root_path: str, document: YamlDocument) -> None:
    """Record each path's line and flag duplicate keys (YAML would silently keep the last one).

    Each node is indexed once, at its first path: a node reached again through an alias adds
    nothing (its problems are reported at the line of the alias's parent), so indexing stays linear.
    """
    import yaml

    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, root_path)]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        document.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = str(key_node.value)
                child = join_path(path, [key])
                line = key_node.start_mark.line + 1
                if key in first_seen:
                    document.problem(child, f"duplicate key `{display_key(key)}` (also on line {first_seen[key]}); "
                                            "keep one", "duplicate")
                else:
                    first_seen[key] = line
                    document.lines[child] = line
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, join_path(path, [position])) for position, item in enumerate(node.value))
