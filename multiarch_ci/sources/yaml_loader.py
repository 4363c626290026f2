"""The YAML loader behind yamlsource.load_yaml: string-only scalars, duplicate keys refused, line numbers
kept; imported only when a YAML input is read (PyYAML costs start-up time)."""
from __future__ import annotations

import re

import yaml

from multiarch_ci.core.errors import InputError
from multiarch_ci.sources.yaml_nodes import YList, YMap

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from typing import ClassVar


class _Loader(yaml.SafeLoader):
    """SafeLoader with string-only plain scalars, duplicate-key errors and line tracking."""

    yaml_implicit_resolvers: ClassVar[dict] = {}   # only << (added below): plain scalars are strings
    _last_node = None

    def construct_object(self, node, deep=False):
        self._last_node = node
        return super().construct_object(node, deep)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r} (first on line {seen[key]})", key_node.start_mark)
                    seen[key] = key_node.start_mark.line + 1
                except TypeError:
                    pass  # unhashable key: the base constructor reports it with its mark
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)\Z"), ["<"])  # \Z: no "<<\n"


def _construct_map(loader: _Loader, node):
    data = YMap(node.start_mark.line + 1)
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, value_node in node.value:  # flattened: merged keys first, own keys override
        key = loader.construct_object(key_node)
        data.key_lines[key] = key_node.start_mark.line + 1
        data.value_lines[key] = value_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node):
    data = YList(node.start_mark.line + 1)
    yield data
    data.extend(loader.construct_sequence(node))
    data.item_lines = [item.start_mark.line + 1 for item in node.value]


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, filename: str, what: str = "spec"):
    """One YAML document as YMap/YList/str values; None when the text holds no document."""
    loader = None
    try:
        loader = _Loader(text)
        if not loader.check_data():
            return None
        data = loader.get_data()
        if loader.check_data():
            line = loader.peek_event().start_mark.line + 1
            raise InputError(f"{filename}:{line}: more than one YAML document",
                             f"put one {what} per file (remove the '---' separator)")
        return data
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "unparsable"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        hint = ("indent with spaces: YAML does not allow tabs" if "\\t" in problem or "tab" in problem
                else "give each key once" if problem.startswith("duplicate key")
                else "check the indentation and quoting near that line")
        raise InputError(f"{filename}:{line}: invalid YAML: {problem}", f"column {col}; {hint}") from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, max(e.position, 0)) + 1
        raise InputError(f"{filename}:{line}: invalid YAML: {str(e).splitlines()[0]}",
                         "the file must be UTF-8 text without control characters") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as e:
        node = loader._last_node if loader else None
        line = node.start_mark.line + 1 if node is not None else 1
        raise InputError(f"{filename}:{line}: invalid YAML: {type(e).__name__}: {e}".splitlines()[0],
                         "check the value on that line") from None
    finally:
        if loader is not None:
            loader.dispose()
