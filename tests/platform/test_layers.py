"""The layers of glass_core point one way, nothing imports in a cycle, and glass_assets (the wiring) holds no science.

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


#: a domain is a folder of assets (or the automation folder); top-level modules and the shared packages are shared
ASSET_DOMAINS = sorted({p.parent.name for p in (ROOT / "glass_assets").glob("*/assets.py")} | {"automation"})


def test_asset_domains_import_only_glass_core_and_shared_modules():
    """A domain (``glass_assets/<domain>/``) never imports another domain; shared modules are the top-level ones and
    the shared packages (``launchers/``, ``registry/``, ``warehouse/``, ``profiles/``)."""
    violations = []
    for domain in ASSET_DOMAINS:
        for path in sorted((ROOT / "glass_assets" / domain).rglob("*.py")):
            for target, _ in imports(path):
                parts = target.split(".")
                if parts[0] == "glass_assets" and len(parts) > 2 and parts[1] in ASSET_DOMAINS and parts[1] != domain:
                    violations.append(f"{module_name(path)} imports {target}")
    assert not violations, "\n".join(violations)


# ------------------------------------------------------------------------------------------ no science in glass_assets
#
# glass_assets wires (Dagster assets, checks, tables, plots); every number of physics comes from glass_core. A wiring
# module may count, filter, compare and summarise the rows glass_core returns (means, standard errors, isfinite,
# bincount); it never computes distances, wraps coordinates into the box, transforms fields, fits, or defines and
# trains networks. The rule, found by scanning the tree: no import of a science library, no use of the numpy/torch
# functions below, no rounding of a quotient (the minimum image d − L·round(d/L), a cell index floor(x/ℓ)), no
# matrix product ``@``.

#: modules only science code imports (``import x``, ``from x import …``, at any depth of the module)
SCIENCE_IMPORTS = (
    "scipy",  # fits, special functions, spatial trees: glass_core.dynamics / glass_core.structure
    "freud",  # neighbour lists, Voronoi cells: glass_core.structure
    "lammps",  # molecular dynamics: glass_core.simulation
    "sklearn",
    "numba",
    "torch.nn",  # network definitions: glass_core.learning
    "torch.optim",  # training loops: glass_core.learning
    "torch.autograd",
)

#: qualified names (imports resolved: ``np.linalg.norm`` is ``numpy.linalg.norm``) only science code uses
SCIENCE_NAMES = (
    *SCIENCE_IMPORTS,
    "numpy.linalg",  # norms, distances, eigenvalues
    "numpy.fft",  # structure factors, S4(q)
    "numpy.einsum",
    "numpy.tensordot",
    "numpy.cross",
    "numpy.hypot",  # distances (and standard errors in quadrature: see SCIENCE_ALLOWED)
    "numpy.rint",  # the minimum image
    "numpy.mod",  # wrapping into the box
    "numpy.remainder",
    "numpy.fmod",
    "numpy.histogram",  # g(r), P(L), …
    "numpy.histogram2d",
    "numpy.histogramdd",
    "numpy.correlate",
    "numpy.convolve",  # coarse graining
    "numpy.corrcoef",  # correlation coefficients: glass_core.structure.correlation
    "numpy.cov",
    "numpy.gradient",
    "numpy.polyfit",  # fits: glass_core.dynamics
    "numpy.trapezoid",
    "numpy.trapz",
    "torch.fft",
    "torch.linalg",
    "torch.cdist",
    "torch.einsum",
)

#: numpy roundings that, applied to a quotient, are the minimum image or a lattice cell index
ROUNDINGS = ("numpy.round", "numpy.around", "numpy.rint", "numpy.floor", "numpy.ceil", "numpy.trunc")

#: the legitimate uses, (innermost function, flagged name) → why it is no physics. Keyed by function, not by file
#: and line, so a function moved to another module keeps its entry. Each must still be there (a stale entry fails).
SCIENCE_ALLOWED: dict[tuple[str, str], str] = {
    ("beats_best_descriptor", "numpy.hypot"): "check metadata: SE of a difference of two scores, SEs in quadrature",
    ("transfer_figure", "numpy.hypot"): "plot error bar: SE over configurations and network spread in quadrature",
    ("_pair", "numpy.hypot"): "report: SE over configurations and network spread in quadrature",
    ("_versus", "numpy.hypot"): "report: SE of an ML − MD difference, the two SEs in quadrature",
}


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → qualified name of every absolute import in ``tree`` (``np`` → ``numpy``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]  # ``import numpy.linalg`` binds ``numpy``
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``np.linalg.norm`` → ``numpy.linalg.norm`` for a name or attribute chain rooted in an import; else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def science_uses(source: str) -> list[tuple[int, str, str]]:
    """(line, innermost function or ``<module>``, what) of every science use in ``source`` by the rule above."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Import):
            found.extend((node.lineno, function, a.name) for a in node.names if _matches(a.name, SCIENCE_IMPORTS))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if _matches(node.module, SCIENCE_IMPORTS):
                found.append((node.lineno, function, node.module))
            else:
                found.extend(
                    (node.lineno, function, f"{node.module}.{a.name}")
                    for a in node.names
                    if _matches(f"{node.module}.{a.name}", SCIENCE_IMPORTS)
                )
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append((node.lineno, function, "@ (matrix product)"))
        elif isinstance(node, ast.Call) and (name := _qualified(node.func, aliases)) in ROUNDINGS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.BinOp) and isinstance(first.op, ast.Div | ast.FloorDiv):
                found.append((node.lineno, function, f"{name} of a quotient (minimum image / cell index)"))
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            name = _qualified(node, aliases)
            if name is not None and _matches(name, SCIENCE_NAMES):
                found.append((node.lineno, function, name))
                return  # the outermost chain only: np.linalg.norm, not also np.linalg
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def science_in_tree(root: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """(violations as ``path:line in function: what``, allowed (function, name) pairs seen) of ``root``'s modules."""
    violations, allowed = [], set()
    for path in sorted(root.rglob("*.py")):
        for line, function, what in science_uses(path.read_text()):
            if (function, what) in SCIENCE_ALLOWED:
                allowed.add((function, what))
            else:
                violations.append(f"{path.relative_to(root.parent).as_posix()}:{line} in {function}: {what}")
    return violations, allowed


def test_glass_assets_holds_no_science():
    """The wiring layer holds no physics: distances, the minimum image, transforms, fits and networks live in
    glass_core (the allowed uses are summary statistics of glass_core's results, listed in SCIENCE_ALLOWED)."""
    violations, _ = science_in_tree(ROOT / "glass_assets")
    assert not violations, "science in glass_assets; move it to glass_core:\n" + "\n".join(violations)


def test_every_allowed_science_use_is_still_there():
    _, allowed = science_in_tree(ROOT / "glass_assets")
    assert set(SCIENCE_ALLOWED) == allowed, f"stale SCIENCE_ALLOWED entries: {sorted(set(SCIENCE_ALLOWED) - allowed)}"


@pytest.mark.parametrize(
    ("snippet", "flagged"),
    [
        ("import numpy as np\ndef distances(d):\n    return np.linalg.norm(d, axis=1)\n", "numpy.linalg.norm"),
        ("from numpy.linalg import norm\nr = norm(d, axis=-1)\n", "numpy.linalg.norm"),
        ("import numpy\ns = numpy.einsum('ij,ij->i', d, d)\n", "numpy.einsum"),
        ("import numpy as np\nrho_q = np.fft.rfft2(rho)\n", "numpy.fft.rfft2"),
        ("import numpy as np\nd = d - box * np.rint(d / box)\n", "numpy.rint"),
        ("import numpy as np\nd -= box * np.round(d / box)\n", "numpy.round of a quotient"),
        ("import numpy as np\ncell = np.floor(positions / size).astype(int)\n", "numpy.floor of a quotient"),
        ("import numpy as np\nr = np.hypot(dx, dy)\n", "numpy.hypot"),
        ("import numpy as np\ng, edges = np.histogram(r, bins=50)\n", "numpy.histogram"),
        ("from scipy.spatial import cKDTree\n", "scipy.spatial"),
        ("def neighbours():\n    import freud\n", "freud"),
        ("from lammps import lammps\n", "lammps"),
        ("from torch import nn\n", "torch.nn"),
        ("import torch\nclass Net(torch.nn.Module):\n    pass\n", "torch.nn.Module"),
        ("import torch\ndistances = torch.cdist(x, x)\n", "torch.cdist"),
        ("energy = positions @ weights\n", "@ (matrix product)"),
    ],
)
def test_the_science_rule_flags_physics(snippet, flagged):
    """The checker itself: each snippet of physics is flagged."""
    assert any(flagged in what for _, _, what in science_uses(snippet)), science_uses(snippet)


def test_the_science_rule_leaves_wiring_alone():
    """Summary statistics, masks and counts of results are wiring, and a local name is not numpy's."""
    snippet = (
        "import numpy as np\nimport polars as pl\n"
        "def summary(values, types, n):\n"
        "    ok = np.isfinite(values).all()\n"
        "    mean, spread = float(np.nanmean(values)), float(np.std(values, ddof=1))\n"
        "    counts = np.bincount(types, minlength=n)\n"
        "    decade = np.floor(np.log10(mean))\n"
        "    linalg, hypot = {}, 1.0\n"
        "    return pl.DataFrame({'i': np.arange(n)}), ok, spread, counts, decade, linalg, hypot\n"
    )
    assert science_uses(snippet) == []


def test_the_science_test_fails_on_physics_in_glass_assets(tmp_path):
    """The test's own path, file scan to assertion: a wiring module computing distances fails, an allowed use
    does not."""
    package = tmp_path / "glass_assets"
    package.mkdir()
    (package / "allowed.py").write_text("import numpy as np\ndef _versus(a, b):\n    return np.hypot(a, b)\n")
    assert science_in_tree(package) == ([], {("_versus", "numpy.hypot")})
    (package / "probe.py").write_text("import numpy as np\ndef distances(d):\n    return np.linalg.norm(d, axis=1)\n")
    violations, _ = science_in_tree(package)
    assert violations == ["glass_assets/probe.py:3 in distances: numpy.linalg.norm"]
