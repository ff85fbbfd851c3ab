"""The layer rule of docs/ARCHITECTURE.md: a package imports only from the packages listed above it —
function-local imports included (an import hidden inside a function breaks the rule as much as one at
the top)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "reasoning_irl"
#: The packages in the order of docs/ARCHITECTURE.md (top first); the top-level modules (io, distributed,
#: faults, testing, cli, demo) are outside the rule.
LAYERS = ["config", "metrics", "text", "tasks", "models", "rewards", "rl", "trainers", "eval", "plots"]


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reasoning_irl."):
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("reasoning_irl.")]
    return out


def test_the_layers_are_those_of_the_architecture_doc():
    text = (SRC.parents[1] / "docs" / "ARCHITECTURE.md").read_text()
    drawn = [line.split("/")[0] for line in text.splitlines()
             if line[:1].isalpha() and line.split(" ")[0].endswith("/")]
    assert [d for d in drawn if d in LAYERS] == LAYERS
    assert {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} == set(LAYERS)


def test_no_package_imports_from_a_layer_below_it():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        layer = path.relative_to(SRC).parts[0]
        if layer not in LAYERS:
            continue
        for line, module in _imports(path):
            other = module.split(".")[1]
            if other in LAYERS and LAYERS.index(other) > LAYERS.index(layer):
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not wrong, "imports against the layer rule of docs/ARCHITECTURE.md: " + "; ".join(wrong)
