"""Find `==` and `!=` on values that TFF may trace: in helpers/*.py and in every notebook's code cells.

    uv run python tools/traced_equality.py      # list each finding as file:line; exit 1 if there is one

TFF builds its computations inside `tf.Graph().as_default()`. There `Tensor.__eq__` and `__ne__` fall back to Python
identity: `tf.cast(y != 0, tf.float32)` is the scalar 1.0 and `labels == labels` a Python bool, so a metric masks
nothing or an accuracy is 0, without an error. Use `tf.equal` / `tf.not_equal` in such code.

Which code TFF may trace, decided from the syntax alone:
- functions decorated with `tf.function`, `tff.tensorflow.computation`, `tff.tf_computation` or
  `tff.federated_computation` (with or without arguments);
- methods of classes that subclass a Keras or TFF class (a base whose dotted name mentions `keras` or `tff`:
  metrics, layers, models), except `__init__`, `build`, `get_config` and `from_config`, which see Python values;
- functions named `…model_fn` (TFF's name for what its builders call while tracing), and functions and lambdas
  passed to a call of `tff.…` (`build_weighted_fed_avg(model_fn)`, `ClientData.from_clients_and_tf_fn(ids, fn)`;
  also through a top-level alias, `ClientData = tff.…`), of a `build_…` function or of a `…model_fn` function
  (the repository's own builders: `build_fedavg(model_fn)`, `make_model_fn(linear_model, spec)`);
- and, to a fixed point, every function of the repository (of the same file or notebook, or of a `helpers` module
  imported there) that such code names, with everything nested in them (`dataset.map(lambda …)`, inner functions).

A comparison there is flagged unless it is certainly between Python values:
- every operand is a literal, a name bound once at the top level of its file or notebook to literals (`PAD = 0`,
  `VOCAB_SIZE = len(CHAR_VOCAB) + 4`), or arithmetic of these; or
- one operand is static structure, never a tensor: `len(…)`, `isinstance(…)`, `type(…)`, or `.shape`, `.ndim`,
  `.dtype`, `.rank`, `.name` (and their subscripts).
A parameter or any other name is not known to be Python, since it may hold a tensor: comparing it is flagged, and
a line that compares Python values the rules cannot see says so with the comment `# traced-eq: python`.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACING_DECORATORS = ("tf.function", "tff.tensorflow.computation", "tff.tf_computation", "tff.federated_computation")
UNTRACED_METHODS = {"__init__", "build", "get_config", "from_config"}
STATIC_ATTRIBUTES = {"shape", "ndim", "dtype", "rank", "name"}
STATIC_CALLS = {"len", "isinstance", "type", "issubclass", "callable", "hasattr"}
PRAGMA = "# traced-eq: python"
MAGIC = re.compile(r"^\s*[%!]")

Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass(frozen=True)
class Finding:
    """One `==` / `!=` in code TFF may trace: where, in which function, and the comparison's text."""

    where: str  # file:line, or notebook, cell and line
    line: int  # in the Source
    function: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: in {self.function}: `{self.text}`: use tf.equal / tf.not_equal"


@dataclass
class Source:
    """A helpers module or a notebook's code cells as one module, with where each line came from."""

    name: str
    module: str | None  # helpers.<name> for a helpers module
    tree: ast.Module
    lines: list[str]
    origin: list[str]  # origin[i]: "file:line" of line i + 1

    def where(self, line: int) -> str:
        """The "file:line" that line `line` of the scanned source came from."""
        return self.origin[line - 1]


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name or an Attribute chain, with calls looked through (`tff.tf_computation(x)` -> its callee)."""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def module_source(path: Path) -> Source:
    """A Python file as a Source."""
    text = path.read_text()
    lines = text.splitlines()
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    module = f"helpers.{path.stem}" if path.parent == ROOT / "helpers" else None
    return Source(name, module, ast.parse(text), lines, [f"{name}:{i + 1}" for i in range(len(lines))])


def notebook_source(path: Path) -> Source:
    """A notebook's code cells, in order, as one module (IPython magics and shell lines blanked)."""
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    lines, origin = [], []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        cell_lines = "".join(cell["source"]).splitlines()
        try:
            ast.parse("\n".join("" if MAGIC.match(x) else x for x in cell_lines))
        except SyntaxError:
            continue  # not Python: nothing TFF could trace
        for number, line in enumerate(cell_lines, start=1):
            lines.append("" if MAGIC.match(line) else line)
            origin.append(f"{name}, cell {index}, line {number}")
        lines.append("")
        origin.append(f"{name}, cell {index}")
    return Source(name, None, ast.parse("\n".join(lines)), lines, origin)


def python_constants(tree: ast.Module) -> set[str]:
    """Names bound exactly once at the top level, to literals or arithmetic of literals and other such names."""
    bindings: dict[str, list[ast.AST | None]] = {}
    for node in tree.body:
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, (ast.AugAssign, ast.For, ast.With, ast.FunctionDef, ast.ClassDef, ast.Import)):
            for name in ast.walk(node):
                if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                    bindings.setdefault(name.id, []).append(None)
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                bindings.setdefault(target.id, []).append(value)
            elif isinstance(target, (ast.Tuple, ast.List)):
                parts = value.elts if isinstance(value, (ast.Tuple, ast.List)) else [None] * len(target.elts)
                for element, part in zip(target.elts, parts):
                    if isinstance(element, ast.Name):
                        bindings.setdefault(element.id, []).append(part)
    known: set[str] = set()
    while True:  # a constant may be built from constants bound above it
        more = {
            n
            for n, vs in bindings.items()
            if n not in known and len(vs) == 1 and vs[0] is not None and _known(vs[0], known)
        }
        if not more:
            return known
        known |= more


def _known(node: ast.AST, constants: set[str]) -> bool:
    """Whether `node` is certainly a Python value: a literal, a known constant, len(...), or arithmetic of these."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_known(e, constants) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _known(node.left, constants) and _known(node.right, constants)
    if isinstance(node, ast.UnaryOp):
        return _known(node.operand, constants)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "tuple", "str"):
        return all(_known(a, constants) for a in node.args)
    return _static(node)


def _static(node: ast.AST) -> bool:
    """Whether `node` is static structure, never a tensor: len/isinstance/type(...), or .shape/.dtype/... (indexed)."""
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STATIC_CALLS:
        return True
    return isinstance(node, ast.Attribute) and node.attr in STATIC_ATTRIBUTES


def _tracing_decorator(decorator: ast.AST) -> bool:
    """Whether a decorator makes TF or TFF trace its function (also imported under its own module's name)."""
    name = dotted(decorator)
    return name in TRACING_DECORATORS or name.endswith((".tf_computation", ".federated_computation", ".computation"))


def _defined_functions(tree: ast.Module) -> dict[str, list[Function]]:
    """Every function defined in `tree`, at any depth, by name."""
    found: dict[str, list[Function]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(node.name, []).append(node)
    return found


def _aliases(tree: ast.Module) -> tuple[set[str], dict[str, str]]:
    """Top-level names bound to something under `tff.`, and names imported from helpers modules (name -> dotted)."""
    tff_names: set[str] = set()
    imported: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and dotted(node.value).startswith("tff."):
            tff_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom) and node.module == "helpers":
            imported |= {(a.asname or a.name): f"helpers.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            imported |= {(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names}
    return tff_names, imported


def _roots(source: Source) -> list[ast.AST]:
    """The nodes of `source` that TFF may trace by themselves: decorated functions, Keras/TFF methods, TFF arguments."""
    tff_names, _ = _aliases(source.tree)
    roots: list[ast.AST] = []
    for node in ast.walk(source.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            _tracing_decorator(d) for d in node.decorator_list
        ):
            roots.append(node)
        elif isinstance(node, ast.ClassDef) and any(
            "keras" in dotted(b).split(".") or dotted(b).split(".")[0] == "tff" for b in node.bases
        ):
            roots += [
                m
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name not in UNTRACED_METHODS
            ]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.endswith("model_fn"):
            roots.append(node)  # TFF's name for what its builders call while tracing
        elif isinstance(node, ast.Call):
            callee = dotted(node.func)
            last = callee.split(".")[-1]
            if (
                callee.startswith("tff.")
                or callee.split(".")[0] in tff_names
                or last.startswith("build_")
                or last.endswith("model_fn")
            ):
                # A lambda is traced itself; a name is followed to its function, here or in a helpers module.
                roots += [
                    a
                    for a in [*node.args, *(k.value for k in node.keywords)]
                    if isinstance(a, (ast.Lambda, ast.Name, ast.Attribute))
                ]
    return roots


def _bound_names(node: ast.AST) -> set[str]:
    """The names a function or lambda binds itself (its parameters, and what it or its inner code assigns)."""
    bound = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        bound |= {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
        bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    return bound


def traced_functions(sources: list[Source]) -> dict[str, set[int]]:
    """Per source, the ids of the AST nodes (functions, lambdas) TFF may trace, closed over the names they use."""
    by_module = {s.module: s for s in sources if s.module}
    helpers_functions = {
        f"{s.module}.{name}": (s, nodes)
        for s in by_module.values()
        for name, nodes in _defined_functions(s.tree).items()
    }
    traced: dict[str, set[int]] = {s.name: set() for s in sources}
    work: list[tuple[Source, ast.AST]] = [(s, r) for s in sources for r in _roots(s)]
    local = {s.name: _defined_functions(s.tree) for s in sources}
    imports = {s.name: _aliases(s.tree)[1] for s in sources}
    while work:
        source, node = work.pop()
        if id(node) in traced[source.name]:
            continue
        traced[source.name].add(id(node))
        bound = _bound_names(node)  # `train = ...` inside a traced function is not the module's `train`
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and inner.id not in bound:
                work += [(source, f) for f in local[source.name].get(inner.id, [])]
                target = imports[source.name].get(inner.id)
                if target in helpers_functions:
                    owner, nodes = helpers_functions[target]
                    work += [(owner, f) for f in nodes]
            elif isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name):
                module = imports[source.name].get(inner.value.id)  # `from helpers import data`, then data.fn
                if module and f"{module}.{inner.attr}" in helpers_functions:
                    owner, nodes = helpers_functions[f"{module}.{inner.attr}"]
                    work += [(owner, f) for f in nodes]
    return traced


def findings(sources: list[Source]) -> list[Finding]:
    """Every `==` / `!=` in code TFF may trace whose operands are not certainly Python values."""
    traced = traced_functions(sources)
    found: dict[tuple[str, int, int], Finding] = {}
    for source in sources:
        constants = python_constants(source.tree)
        for node in ast.walk(source.tree):
            if (
                not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                or id(node) not in traced[source.name]
            ):
                continue
            name = getattr(node, "name", "lambda")
            for compare in ast.walk(node):
                if not isinstance(compare, ast.Compare) or not any(
                    isinstance(op, (ast.Eq, ast.NotEq)) for op in compare.ops
                ):
                    continue
                operands = [compare.left, *compare.comparators]
                if all(_known(o, constants) for o in operands) or any(_static(o) for o in operands):
                    continue
                if PRAGMA in source.lines[compare.lineno - 1]:
                    continue
                key = (source.name, compare.lineno, compare.col_offset)
                found.setdefault(key, Finding(source.where(compare.lineno), compare.lineno, name, ast.unparse(compare)))
    return sorted(found.values(), key=lambda f: (f.where, f.line))


def repository_sources(root: Path = ROOT) -> list[Source]:
    """helpers/*.py and every notebook, as Sources."""
    from tools.repo import notebooks

    return [module_source(p) for p in sorted((root / "helpers").glob("*.py"))] + [
        notebook_source(p) for p in notebooks(root / "notebooks")
    ]


def main(argv: list[str] | None = None) -> int:
    """Print every finding in the repository; exit 1 if there is one."""
    found = findings(repository_sources())
    for finding in found:
        print(finding)
    print(f"{len(found)} `==` / `!=` on values TFF may trace")
    return 1 if found else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
