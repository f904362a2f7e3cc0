"""Griffe extension for the API reference: glass_core's reST-style roles become Markdown cross-references.

glass_core's docstrings are Google style with Sphinx roles (``:func:`~.relaxation_time```, ``:mod:`.cnn```,
``:class:`glass_core.models.configuration.Configuration```). mkdocstrings renders Markdown, so this extension
rewrites each role, once the whole package is loaded, into an autorefs link ``[`name`][full.path]`` when the target
is an object the API pages render (public, documented, in glass_core), and into plain code otherwise (a private
helper, numpy, a name it cannot resolve). Links therefore never dangle, and ``mkdocs build --strict`` stays clean.
A citation key of the bibliography (``[O]``, ``[J]``, ``[TT18]``, …; outside code and formulas) becomes a link to
its entry in ``docs/bibliography.md``, whose anchors are ``bib-<key>``: a key the bibliography lacks is an unresolved
reference, so the strict build fails on it. A reST literal-block marker (a line ending in ``::``) becomes a single
colon. Loaded by ``mkdocs.yml``
(``extensions: [scripts/docs_griffe_roles.py]``); it changes nothing in the package, only what the docs show.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|data|attr|obj|exc|const|ref):`(~?)(\.?)([^`<>]+?)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::[ \t]*$", re.MULTILINE)
#: Code spans and formulas, where a bracketed key is not a citation.
_PROTECTED = re.compile(r"(``.*?``|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$)", re.DOTALL)
#: A citation key: [O], [J], [G], [R], or capitals with an optional year such as [TT18], [SDG]; not already a link.
_CITATION = re.compile(r"(?<![\[\w])\[([OJGR]|[A-Z]{2,8}\d{0,2})\](?![\[(])")


def _cite(match: re.Match[str]) -> str:
    line_start = match.string.rfind("\n", 0, match.start()) + 1
    if not match.string[line_start:match.start()].strip() and match.string.startswith(":", match.end()):
        return match.group(0)  # "[O]: …" opening a line would read as a Markdown link definition
    return f"[[{match.group(1)}]][bib-{match.group(1)}]"


def _link_citations(text: str) -> str:
    """``[O]`` → ``[[O]][bib-O]`` outside code spans, formulas and literal blocks."""
    parts = _PROTECTED.split(text)
    for index in range(0, len(parts), 2):
        parts[index] = _CITATION.sub(_cite, parts[index])
    return "".join(parts)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _rewrite(text: str) -> str:
    """Citations linked and ``::`` markers made colons, except inside the reST literal blocks those markers open."""
    out: list[str] = []
    prose: list[str] = []
    literal_indent: int | None = None  # indentation of the line that opened the current literal block

    def flush() -> None:
        if prose:
            out.append(_link_citations("\n".join(prose)))
            prose.clear()

    for line in text.split("\n"):
        if literal_indent is not None:
            if not line.strip() or _indent(line) > literal_indent:
                out.append(line)
                continue
            literal_indent = None
        if _LITERAL_MARKER.search(line):
            prose.append(_LITERAL_MARKER.sub(":", line))
            flush()
            literal_indent = _indent(line)
            continue
        prose.append(line)
    flush()
    return "\n".join(out)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if member.is_alias:
            continue
        found.extend(_walk(member))
    return found


def _rendered(obj: griffe.Object) -> bool:
    """True when the API pages show ``obj`` with an anchor: every part of its path public, and documented."""
    private = [part for part in obj.path.split(".") if part.startswith("_")]
    if any(not (part.startswith("__") and part.endswith("__")) for part in private) or obj.name.startswith("__"):
        return False
    if obj.is_module:
        return True
    if not obj.has_docstring:
        return False
    parent = obj.parent
    return parent is None or _rendered(parent)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles of every docstring in the loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:  # noqa: ARG002
        objects = _walk(pkg)
        by_path = {obj.path: obj for obj in objects}
        by_name: dict[str, list[str]] = defaultdict(list)
        for path in by_path:
            by_name[path.rsplit(".", 1)[-1]].append(path)
        for obj in objects:
            if obj.docstring is None:
                continue
            module = obj if obj.is_module else obj.module
            obj.docstring.value = _ROLE.sub(lambda match, m=module: self._replace(match, m, by_path, by_name),
                                            obj.docstring.value)
            obj.docstring.value = _rewrite(obj.docstring.value)

    @staticmethod
    def _resolve(target: str, module: griffe.Module, by_path: dict[str, griffe.Object],
                 by_name: dict[str, list[str]]) -> griffe.Object | None:
        if target in by_path:
            return by_path[target]
        scope: griffe.Object | None = module
        while scope is not None:  # relative to the current module, then to each package above it
            candidate = f"{scope.path}.{target}"
            if candidate in by_path:
                return by_path[candidate]
            scope = scope.parent
        suffix = "." + target
        matches = [path for path in by_name.get(target.rsplit(".", 1)[-1], []) if path.endswith(suffix)]
        return by_path[matches[0]] if len(matches) == 1 else None

    def _replace(self, match: re.Match[str], module: griffe.Module, by_path: dict[str, griffe.Object],
                 by_name: dict[str, list[str]]) -> str:
        short, target = match.group(1) == "~", match.group(3).strip()
        display = target.rsplit(".", 1)[-1] if short else target
        obj = self._resolve(target, module, by_path, by_name)
        if obj is not None and _rendered(obj):
            return f"[`{display}`][{obj.path}]"
        return f"`{display}`"
