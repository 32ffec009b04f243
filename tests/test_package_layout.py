"""The package's import structure: no cycles, and imports inside functions only
where they keep an optional package or the command line's start lazy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kmeans

PACKAGE = Path(kmeans.__file__).parent

# Imported inside functions so that `import kmeans` loads none of them.
OPTIONAL = {
    "array_api_compat",
    "dask",
    "distributed",
    "faiss",
    "jax",  # only when JAX arrays arrive (the array API path's precision)
    "matplotlib",
    "pandas",
    "resource",  # POSIX only
    "scipy",  # kmeans without scipy loaded: see test_optional_sklearn.py
    "sklearn",
    "torch",  # only when torch tensors arrive, as jax
    "tqdm",
}
# kmeans._compat imports scikit-learn, which takes seconds: loaded when first used.
LAZY_MODULES = {"kmeans._compat"}
# The command line and the harness import what a subcommand needs when it runs.
LIGHT_START = ("kmeans._cli", "kmeans._bench")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, source: str | None = None):
    """(imported module, inside a function) for each import of module ``name``
    (or of ``source`` as that module); ``from . import x`` of a submodule counts
    as importing the submodule."""
    path = MODULES[name]
    tree = ast.parse(path.read_text() if source is None else source)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    inside = {id(n) for f in functions for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = ".".join(base[: len(base) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            subs = [f"{module}.{alias.name}" for alias in node.names]
            targets = subs if all(s in MODULES for s in subs) else [module]
        else:
            continue
        for target in targets:
            yield target, id(node) in inside


def test_no_import_cycles_even_through_imports_inside_functions():
    graph = {
        name: {t for t, _ in _imports(name) if t in MODULES and t != name}
        for name in MODULES
    }
    # Tarjan's strongly connected components
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    assert cycles == []


def _needless_lazy_imports(name: str, source: str | None = None) -> set:
    return {
        target
        for target, inside in _imports(name, source)
        if inside and target.split(".")[0] not in OPTIONAL and target not in LAZY_MODULES
    }


@pytest.mark.parametrize("name", [n for n in MODULES if not n.startswith(LIGHT_START)])
def test_imports_inside_functions_only_keep_optional_packages_lazy(name):
    assert _needless_lazy_imports(name) == set()


def test_the_check_finds_an_import_inside_a_method():
    source = (
        "import numpy as np\n"
        "from ._validation import check_array\n"
        "class A:\n"
        "    def f(self):\n"
        "        import dask\n"
        "        from .._core import blocks\n"
    )
    found = _needless_lazy_imports("kmeans._backends.memory", source)
    assert found == {"kmeans._core.blocks"}
