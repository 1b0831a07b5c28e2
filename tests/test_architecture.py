"""The package's layering, checked on the source (docs/architecture.md).

- ``avatars.protocol`` imports nothing else of ``avatars``;
- the engine imports nothing of the server, the SDK or the protocol's pydantic models (only
  the plain enums of ``avatars.protocol.enums``), anywhere, not even inside a function;
- the SDK imports neither the server nor the engine when it is imported (a function may import
  the engine lazily for a local run);
- no import cycle among the modules as they import each other when loaded;
- the server's routers hold no SQL: they parse HTTP, call a service, answer HTTP.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "avatars"

#: Modules of the SDK (what ``pip install avatars`` is for).
SDK = (
    "avatars.client",
    "avatars._http",
    "avatars.api",
    "avatars.manager",
    "avatars.runner",
    "avatars.runner_config",
    "avatars.storage",
    "avatars.exceptions",
    "avatars.constants",
    "avatars.models",
    "avatars.resource_set",
    "avatars.processors",
)
#: What the engine may import of the rest of the package.
ENGINE_MAY_IMPORT = ("avatars.engine", "avatars.protocol.enums")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = MODULES.get(module, Path()).name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, *, top_level_only: bool) -> Iterator[tuple[str, int]]:
    """``(imported avatars module, line)`` for each import of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))

    def visit(nodes: list[ast.stmt]) -> Iterator[tuple[str, int]]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, node.lineno
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, node)
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    yield (candidate if candidate in MODULES else base), node.lineno
            elif isinstance(node, ast.If) and _is_type_checking(node):
                continue
            elif isinstance(node, ast.If | ast.Try | ast.With):
                children = [*node.body, *getattr(node, "orelse", [])]
                children += [s for h in getattr(node, "handlers", []) for s in h.body]
                children += getattr(node, "finalbody", [])
                yield from visit(children)
            elif not top_level_only and isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            ):
                yield from visit(node.body)

    if top_level_only:
        yield from ((m, n) for m, n in visit(tree.body) if m.startswith("avatars"))
    else:
        found = (
            (node, ln) for node, ln in _all_imports(tree, module) if node.startswith("avatars")
        )
        yield from found


def _all_imports(tree: ast.Module, module: str) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield (candidate if candidate in MODULES else base), node.lineno


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_protocol_imports_nothing_else_of_the_package() -> None:
    bad = [
        f"{module}:{line} imports {target}"
        for module in MODULES
        if _within(module, ("avatars.protocol",))
        for target, line in imports(module, top_level_only=False)
        if not _within(target, ("avatars.protocol",))
    ]
    assert not bad, "\n".join(bad)


def test_engine_imports_neither_server_nor_sdk_nor_wire_models() -> None:
    bad = [
        f"{module}:{line} imports {target}"
        for module in MODULES
        if _within(module, ("avatars.engine",))
        for target, line in imports(module, top_level_only=False)
        if target != "avatars" and not _within(target, ENGINE_MAY_IMPORT)
    ]
    assert not bad, "\n".join(bad)


def test_sdk_imports_neither_server_nor_engine_when_loaded() -> None:
    bad = [
        f"{module}:{line} imports {target}"
        for module in MODULES
        if _within(module, SDK)
        for target, line in imports(module, top_level_only=True)
        if _within(target, ("avatars.server", "avatars.engine"))
    ]
    assert not bad, "\n".join(bad)


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = set()
        for target, _line in imports(module, top_level_only=top_level_only):
            # importing a.b.c runs a/__init__ and a/b/__init__ first: each is an edge, but
            # for the packages the module itself belongs to (they are loading already)
            while target:
                if target in MODULES and not _within(module, (target,)):
                    targets.add(target)
                target = target.rpartition(".")[0]
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return found


@pytest.mark.parametrize("top_level_only", [True, False], ids=["when-loaded", "anywhere"])
def test_no_import_cycle(top_level_only: bool) -> None:
    """No cycle when modules are loaded, nor one hidden in a function or behind
    ``TYPE_CHECKING`` (a lazy import that dodges a cycle is still a cycle of dependencies)."""
    cycles = _cycles(_graph(top_level_only=top_level_only))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


#: Building SQL, or running it, by name: what a router must leave to the services.
SQL_CALLS = frozenset({"select", "update", "delete", "insert", "text"})
SESSION_CALLS = frozenset({"execute", "scalars", "scalar", "get", "add", "flush"})


def _sql_in(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    yield node.lineno, f"imports {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] == "sqlalchemy":
                yield node.lineno, f"imports from {node.module}"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in SQL_CALLS:
                yield node.lineno, f"calls {func.id}()"
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in SESSION_CALLS
                and isinstance(func.value, ast.Name)
                and func.value.id in ("session", "connection", "db")
            ):
                yield node.lineno, f"calls {func.value.id}.{func.attr}()"


def test_routers_hold_no_sql() -> None:
    """Routers are HTTP in (parsing, the caller), a service call, HTTP out (wire models,
    errors): the rules and the SQL are in ``avatars.server.services``, so that other front
    ends (the web pages, an MCP server) can call the same services without HTTP. The web
    pages (``avatars.server.web``) are held to the same rule."""
    routers = [m for m in MODULES if _within(m, ("avatars.server.routers", "avatars.server.web"))]
    assert len(routers) > 5, routers  # the check looks where the routers are
    bad = [
        f"{module}:{line} {what}"
        for module in routers
        for line, what in _sql_in(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    ]
    assert not bad, "\n".join(bad)


def test_the_sql_check_sees_sql() -> None:
    code = (
        "from sqlalchemy import select\n"
        "def f(session):\n"
        "    session.execute(select(X))\n"
        "    router.delete('/x')\n"
    )
    found = [what for _line, what in _sql_in(ast.parse(code))]
    assert found == ["imports from sqlalchemy", "calls session.execute()", "calls select()"]


@pytest.mark.parametrize("module", ["avatars.protocol.enums"])
def test_enums_need_only_the_standard_library(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert names <= {"__future__", "enum"}, names


def test_the_engines_lazy_names_are_its_public_names_and_resolve() -> None:
    """``avatars.engine`` loads its names on first use (PEP 562): the table of where each one
    lives must list exactly the public names, and each must be found there."""
    import avatars.engine as engine

    assert set(engine._MODULES) == set(engine.__all__)
    for name in engine.__all__:
        module = importlib.import_module(f"avatars.engine.{engine._MODULES[name]}")
        assert getattr(engine, name) is getattr(module, name), name
