"""The layers of glass_core point one way, and nothing imports in a cycle.

Read from the source (``ast``), so function-level and ``TYPE_CHECKING`` imports count too.

Allowed direction (a layer imports only itself and the layers listed for it)::

    files       (no glass_core imports)
    models      → files
    structure   → models, files
    dynamics    → structure, models, files
    simulation  → dynamics, structure, models, files
    learning    → dynamics, structure, models, files     (a trained model never needs LAMMPS)
    tasks       → simulation, learning, dynamics, structure, models, files   (the worker knows every task kind)
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

CORE = ROOT / "glass_core"

ALLOWED: dict[str, set[str]] = {
    "files": set(),
    "models": {"files"},
    "structure": {"models", "files"},
    "dynamics": {"structure", "models", "files"},
    "simulation": {"dynamics", "structure", "models", "files"},
    "learning": {"dynamics", "structure", "models", "files"},
    "tasks": {"simulation", "learning", "dynamics", "structure", "models", "files"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(imported module, imported names) of every import statement in ``path``, relative ones resolved."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, [alias.name for alias in node.names]


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "glass_core" and len(parts) > 1 else None


def glass_core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_every_glass_core_module_lives_in_a_known_layer():
    for path in glass_core_modules():
        name = module_name(path)
        assert name == "glass_core" or layer(name) in ALLOWED, f"{name} is outside the layers {sorted(ALLOWED)}"


def test_lower_layers_never_import_upper_ones():
    violations = []
    for path in glass_core_modules():
        own = layer(module_name(path))
        for target, names in imports(path):
            targets = [target] if target != "glass_core" else [f"glass_core.{n}" for n in names]
            for imported in targets:
                other = layer(imported)
                if own and other and other != own and other not in ALLOWED[own]:
                    violations.append(f"{module_name(path)} ({own}) imports {imported} ({other})")
    assert not violations, "\n".join(violations)


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    """The checker itself: a crafted structure module importing the learning layer is a violation."""
    fake = CORE / "structure" / "_layer_probe.py"
    fake.write_text("def f():\n    from glass_core.learning.cnn import GlassCNN\n")
    try:
        with pytest.raises(AssertionError, match="_layer_probe"):
            test_lower_layers_never_import_upper_ones()
    finally:
        fake.unlink()


def test_no_import_cycle_between_glass_core_modules():
    graph: dict[str, set[str]] = {}
    known = {module_name(p) for p in glass_core_modules()}
    for path in glass_core_modules():
        edges = set()
        for target, names in imports(path):
            candidates = [target, *(f"{target}.{n}" for n in names)]
            edges |= {c for c in candidates if c in known and not c.endswith("__init__") and c != module_name(path)}
        graph[module_name(path)] = {e for e in edges if e.count(".") >= 1 and e != "glass_core"}

    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join([*stack[stack.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_private_name_is_imported_across_packages():
    """``from a.b import _x`` only between modules of the same package."""
    violations = []
    for path in [*glass_core_modules(), *sorted((ROOT / "glass_assets").rglob("*.py"))]:
        package = module_name(path).rsplit(".", 1)[0]
        for target, names in imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target.rsplit(".", 1)[0] != package:
                violations.append(f"{module_name(path)} imports {private} from {target}")
    assert not violations, "\n".join(violations)


#: a domain is a folder of assets (or the automation folder); top-level modules, launchers/ and registry/ are shared
ASSET_DOMAINS = sorted({p.parent.name for p in (ROOT / "glass_assets").glob("*/assets.py")} | {"automation"})


def test_asset_domains_import_only_glass_core_and_shared_modules():
    """A domain (``glass_assets/<domain>/``) never imports another domain; shared modules are the top-level ones and
    the shared packages (``launchers/``, ``registry/``)."""
    violations = []
    for domain in ASSET_DOMAINS:
        for path in sorted((ROOT / "glass_assets" / domain).rglob("*.py")):
            for target, _ in imports(path):
                parts = target.split(".")
                if parts[0] == "glass_assets" and len(parts) > 2 and parts[1] in ASSET_DOMAINS and parts[1] != domain:
                    violations.append(f"{module_name(path)} imports {target}")
    assert not violations, "\n".join(violations)
