"""The layers of ``spse/`` import one way: a test that walks every import and lists each arrow back up.

Each module's layer is its first folder under ``spse/``: ``core``, ``methods``, ``sources`` or
``pipeline``. The allowed arrows are

- ``core`` imports nothing else of spse;
- ``methods`` imports ``core`` (pure functions that receive their parameters);
- ``sources`` imports ``core`` (the plug-ins; they never import methods nor the pipeline);
- ``pipeline`` imports every layer.

Every import counts, at any depth: module level, inside functions, and under
``if TYPE_CHECKING:`` (an annotation naming a higher layer is a dependency all the same).

Methods are pure: no function of ``spse/methods`` calls the register, the lake or the
configuration (``register.…()``, ``lake.…()``, ``config.…()``); the pipeline reads them and
passes the values.

The pipeline is the only layer doing I/O: the lake and the HTTP fetch are
``spse/pipeline/lake.py`` and ``spse/pipeline/fetch.py``, and no module of ``core`` or
``sources`` imports a network or database client (a source sends its requests through the
``http`` the ingest passes to ``fetch_files``).
"""

from __future__ import annotations

import ast
from pathlib import Path

SPSE = Path(__file__).resolve().parents[1] / "spse"
LAYERS = ("core", "methods", "sources", "pipeline")
ALLOWED = {
    "core": {"core"},
    "methods": {"core", "methods"},
    "sources": {"core", "sources"},
    "pipeline": set(LAYERS),
}
IMPURE_MODULES = ("register", "lake", "config")
# Reads still in methods, each owned by another change: (file, call). Remove an entry when its read goes.
KNOWN_READS: set[tuple[str, str]] = set()
# Clients that open a connection or a database, which core and sources never import (the pipeline
# sends requests, spse.pipeline.fetch with requests and urllib3, and writes, lake and warehouse).
IO_CLIENTS = ("requests", "urllib3", "httpx", "aiohttp", "urllib.request", "http.client", "socket", "ftplib",
              "smtplib", "duckdb", "sqlite3")
NO_IO_LAYERS = ("core", "sources")


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path`` (a ``.py`` file under ``root``, the ``spse`` folder)."""
    parts = ("spse", *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The layer of a dotted spse module name, or None for ``spse`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every spse module imported by ``source``, at any depth.

    ``from spse import x`` and ``from spse.core import x`` name ``spse.x`` and ``spse.core.x``
    (the layer is decided by the folder either way); relative imports are resolved against
    ``module`` (a package when ``is_package``).
    """
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if layer_of(target) is None:
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "spse" or name.startswith("spse.")]


def upward_arrows(root: Path) -> list[str]:
    """Every import under ``root`` (the ``spse`` folder) that runs against the layer order."""
    arrows = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        here = layer_of(module)
        for line, target in imported_modules(path.read_text(encoding="utf-8"), module,
                                             path.name == "__init__.py"):
            there = layer_of(target)
            if here is None or target == "spse":
                continue
            if there is None:
                arrows.append(f"{path.relative_to(root.parent)}:{line}: {module} ({here}) imports "
                              f"{target}, in no layer")
            elif there not in ALLOWED[here]:
                arrows.append(f"{path.relative_to(root.parent)}:{line}: {module} ({here}) imports "
                              f"{target} ({there})")
    return arrows


def test_every_module_is_in_a_layer():
    loose = [p.name for p in SPSE.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert {p.name for p in SPSE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS)


def test_no_arrow_runs_back_up():
    arrows = upward_arrows(SPSE)
    assert not arrows, "imports against the layer order (core < methods, sources < pipeline):\n" + "\n".join(arrows)


def fake_spse(tmp_path: Path, files: dict[str, str]) -> Path:
    """A ``spse`` folder under ``tmp_path``: the four layer packages and ``files`` (path under it → text)."""
    root = tmp_path / "spse"
    for layer in LAYERS:
        (root / layer).mkdir(parents=True)
        (root / layer / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_fake_upward_import_is_caught(tmp_path):
    root = fake_spse(tmp_path, {
        "core/clean.py": "from spse.core import errors\n",
        "methods/grid.py": "import numpy\nfrom spse.core.columns import Column\n\n\ndef f():\n"
                           "    from spse.pipeline import lake\n",
        "sources/feed.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                           "    from spse.methods.grid import f\n",
        "core/config.py": "from ..sources import feed\nfrom spse import pipeline\n",
        "pipeline/daily.py": "from spse.methods import grid\nfrom spse.sources import feed\n"})
    assert upward_arrows(root) == [
        "spse/core/config.py:1: spse.core.config (core) imports spse.sources (sources)",
        "spse/core/config.py:2: spse.core.config (core) imports spse.pipeline (pipeline)",
        "spse/methods/grid.py:6: spse.methods.grid (methods) imports spse.pipeline (pipeline)",
        "spse/sources/feed.py:4: spse.sources.feed (sources) imports spse.methods.grid (methods)",
    ]


def impure_calls(root: Path) -> list[tuple[str, int, str]]:
    """``(file, line, call)`` of every call of ``register.…``, ``lake.…`` or ``config.…`` under ``root/methods``."""
    calls = []
    for path in sorted((root / "methods").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id in IMPURE_MODULES):
                calls.append((str(path.relative_to(root.parent)), node.lineno, f"{func.value.id}.{func.attr}"))
    return calls


def test_methods_never_read_the_register_the_lake_or_the_configuration():
    reads = [f"{file}:{line}: {call}()" for file, line, call in impure_calls(SPSE) if (file, call) not in KNOWN_READS]
    assert not reads, "methods must receive their parameters:\n" + "\n".join(reads)


def test_a_fake_register_read_in_methods_is_caught(tmp_path):
    root = tmp_path / "spse"
    (root / "methods").mkdir(parents=True)
    (root / "methods" / "stats.py").write_text(
        "from spse.core import lake, register\n\n\ndef f(params: register.Parameters):\n"
        "    return register.parameters().int('x') + len(lake.read_days('air', []))\n")
    assert sorted(impure_calls(root)) == [("spse/methods/stats.py", 5, "lake.read_days"),
                                          ("spse/methods/stats.py", 5, "register.parameters")]


def every_import(source: str) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every absolute import in ``source``, at any depth.

    ``from a import b`` names both ``a`` and ``a.b`` (``b`` may be a module: ``from urllib import request``).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def io_imports(root: Path) -> list[str]:
    """Every import of an I/O client (:data:`IO_CLIENTS`) by a module of ``core`` or ``sources`` under ``root``."""
    found = []
    for layer in NO_IO_LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            for line, name in every_import(path.read_text(encoding="utf-8")):
                client = next((c for c in IO_CLIENTS if name == c or name.startswith(c + ".")), None)
                if client:
                    found.append(f"{path.relative_to(root.parent)}:{line}: imports {name}")
    return sorted(set(found))


def test_core_and_sources_import_no_io_client():
    found = io_imports(SPSE)
    assert not found, "core and sources do no I/O (the pipeline's fetch and lake do):\n" + "\n".join(found)


def test_a_fake_io_import_is_caught(tmp_path):
    root = fake_spse(tmp_path, {
        "sources/feed.py": "import io\nfrom urllib.parse import urljoin\n\nimport pyarrow.parquet as pq\n\n\n"
                           "def get():\n    import requests\n",
        "core/http.py": "from urllib import request\n",
        "sources/_store.py": "import duckdb.typing\n",
        "pipeline/fetch.py": "import requests\n"})
    assert io_imports(root) == ["spse/core/http.py:1: imports urllib.request",
                                "spse/sources/_store.py:1: imports duckdb.typing",
                                "spse/sources/feed.py:8: imports requests"]


def test_the_lake_and_fetch_are_pipeline_modules():
    assert (SPSE / "pipeline" / "lake.py").is_file() and (SPSE / "pipeline" / "fetch.py").is_file()
    elsewhere = [str(p.relative_to(SPSE)) for layer in NO_IO_LAYERS for p in (SPSE / layer).rglob("*.py")
                 if p.stem in ("lake", "fetch")]
    assert elsewhere == []


BUILTIN_ERRORS = {"Exception", "ValueError", "RuntimeError", "LookupError", "TimeoutError", "OSError", "KeyError"}


def error_classes_outside_errors(root: Path) -> list[str]:
    """Public classes deriving from an exception, defined anywhere but ``spse/core/errors.py``.

    A class counts as an error when one of its bases is a builtin exception or a class named
    ``…Error``, ``…Failure`` or ``…Exception``; private ones (``_FullRebuild``: control flow
    inside one module) are allowed.
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "core" / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                     for b in node.bases}
            if bases & BUILTIN_ERRORS or any(b.endswith(("Error", "Failure", "Exception")) for b in bases):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_every_error_class_lives_in_core_errors():
    assert error_classes_outside_errors(SPSE) == []


def test_a_fake_error_class_outside_core_errors_is_caught(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "errors.py").write_text("class FeedError(Exception):\n    pass\n")
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "mail.py").write_text(
        "from spse.core.errors import FeedError\n\n\nclass Bounce(FeedError):\n    pass\n\n\n"
        "class _Retry(Exception):\n    pass\n\n\nclass Late(TimeoutError):\n    pass\n")
    assert error_classes_outside_errors(tmp_path) == ["pipeline/mail.py:4 Bounce", "pipeline/mail.py:12 Late"]
