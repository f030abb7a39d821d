"""Guards that keep the layout honest (issue 20; CI runs this file with the rest of the suite):
ruff finds no unused import, undefined name or syntax error, every file is as ruff format writes
it (pyproject.toml [tool.ruff], 100 columns), and the import contracts of
pyproject.toml ([tool.importlinter], docs/architecture.md) hold."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINTED = [
    "core",
    "reserve",
    "dispatch",
    "public_site",
    "migrations",
    "bench",
    "tests",
    "scripts",
    "deploy",
]


def _tool(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def test_ruff_finds_nothing():
    result = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", *LINTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_file_is_formatted():
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", "--no-cache", *LINTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, "run `ruff format .`\n" + result.stdout + result.stderr


def test_the_import_contracts_hold():
    result = subprocess.run(
        [_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_of_the_app_imports_itself_back():
    """No import circle anywhere in the four packages (imports inside functions count too): the
    strongly connected parts of the import graph are single modules."""
    import grimp

    graph = grimp.build_graph(
        "core", "reserve", "dispatch", "public_site", include_external_packages=False
    )
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(module):  # Tarjan's strongly connected components, iterative over the imports
        work = [(module, iter(sorted(graph.find_modules_directly_imported_by(module))))]
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    part = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        part.add(member)
                        if member == node:
                            break
                    if len(part) > 1:
                        circles.append(sorted(part))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert not circles, circles
