"""The shape of `app/services/`, checked on the source (an AST walk, no imports run).

ARCHITECTURE.md ("Services: packages and their direction") writes the rules down; this
test keeps them true:

* no import cycle among `app.services` modules (function-level imports included);
* no function-level (deferred) import of `app.services` anywhere in `app/`;
* no import of another module's `_private` name, neither `from m import _x` nor `m._x`;
* imports among service packages only go down the layer order below (same layer is
  fine as long as there is no cycle); services never import routers or the demo;
* services import nothing from FastAPI/Starlette and never call `.commit()`;
* no module in `app/services/` is over 400 lines.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MAX_LINES = 400

# The direction among the service packages, from the foundations up: a package may
# import packages of its own layer or of the layers before it, never after.
LAYERS: list[set[str]] = [
    {"access", "validation"},
    {"audit", "accounts", "guards", "organizations"},
    {"plans", "polls", "meetings", "surveys", "service_requests"},
    {"tables", "live", "conversations"},
    {"proposals", "budgets", "sortition"},
    {"comments", "roles"},
    {"moderation", "imports", "privacy", "open_data"},
    {"integrations"},
]
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (a `from m import x` of a submodule counts as m.x)
    names: tuple[str, ...]
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


MODULES = app_modules()


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside a function body."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.walk(node):
                if child is not node:
                    inside.add(id(child))
    return inside


def imports_of(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text("utf-8"))
    inside = _function_nodes(tree)
    for node in ast.walk(tree):
        in_function = id(node) in inside
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno, in_function)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = tuple(alias.name for alias in node.names)
            yield Import(module, node.module, names, node.lineno, in_function)
            for name in names:
                if f"{node.module}.{name}" in MODULES:  # `from package import module`
                    yield Import(module, f"{node.module}.{name}", (), node.lineno, in_function)


def all_imports() -> list[Import]:
    return [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def is_service(module: str) -> bool:
    return module.startswith("app.services.")


def package_of(module: str) -> str:
    """`app.services.tables.memberships` -> `tables`; `app.services.validation` -> `validation`."""
    return module.split(".")[2]


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def service_edges(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if is_service(imp.module) and is_service(imp.target) and imp.target in MODULES:
            edges.setdefault(imp.module, set()).add(imp.target)
    return edges


def test_every_service_package_has_a_place_in_the_layers() -> None:
    packages = {package_of(m) for m in MODULES if is_service(m)}
    assert packages - RANK.keys() == set(), "add the new package to LAYERS (and ARCHITECTURE.md)"
    assert RANK.keys() - packages == set(), "LAYERS names a package that does not exist"


def test_no_import_cycle_among_services() -> None:
    assert find_cycles(service_edges(all_imports())) == []


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(edges) == [["a", "b", "c"]]


def test_no_function_level_import_of_services() -> None:
    deferred = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if imp.in_function and (imp.target == "app.services" or is_service(imp.target))
    ]
    assert deferred == []


def _private_attribute_uses(module: str, path: Path) -> Iterator[str]:
    """`alias._name` where `alias` is an app module imported into `module`."""
    tree = ast.parse(path.read_text("utf-8"))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in MODULES and target != module:
                    aliases[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in MODULES:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            yield f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"


def test_no_import_of_another_modules_private_names() -> None:
    private = [
        f"{imp.module}:{imp.line} imports {imp.target}:{name}"
        for imp in all_imports()
        if imp.target.startswith("app.") and imp.target != imp.module
        for name in imp.names
        if name.startswith("_") and not name.startswith("__")
    ]
    for module, path in MODULES.items():
        private.extend(_private_attribute_uses(module, path))
    assert private == []


def test_service_imports_follow_the_layer_order() -> None:
    against = [
        f"{imp.module}:{imp.line} ({package_of(imp.module)}, layer {RANK[package_of(imp.module)]})"
        f" imports {imp.target} ({package_of(imp.target)}, layer {RANK[package_of(imp.target)]})"
        for imp in all_imports()
        if is_service(imp.module)
        and is_service(imp.target)
        and RANK[package_of(imp.target)] > RANK[package_of(imp.module)]
    ]
    assert against == []


# The one piece of the web framework a service may use: live sessions build their stream
# out of `fastapi.sse.ServerSentEvent` values (a plain message type, no request object).
ALLOWED_FRAMEWORK = {("app.services.live", "fastapi.sse")}


def _allowed(module: str, target: str) -> bool:
    return any(module.startswith(m) and target == t for m, t in ALLOWED_FRAMEWORK)


def test_services_import_neither_routers_demo_nor_the_web_framework() -> None:
    forbidden = ("app.routers", "app.demo", "app.main", "app.deps", "fastapi", "starlette")
    wrong = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if is_service(imp.module)
        and any(imp.target == f or imp.target.startswith(f + ".") for f in forbidden)
        and not _allowed(imp.module, imp.target)
    ]
    assert wrong == []


def test_services_never_commit() -> None:
    commits = []
    for module, path in MODULES.items():
        if not is_service(module):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                commits.append(f"{module}:{node.lineno}")
    assert commits == []


def test_no_service_module_over_400_lines() -> None:
    long = {
        module: n
        for module, path in MODULES.items()
        if is_service(module) and (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
