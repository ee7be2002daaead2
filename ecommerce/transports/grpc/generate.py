"""Regenerate `ecommerce/transports/grpc/gen` from the contracts' .proto files; `--check` fails if it is stale.

protoc writes imports as if each package were top-level (`from product.v1 import ...`); they are
rewritten to live under `ecommerce.transports.grpc.gen`, so the generated code is one ordinary package.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

from phases.services import SERVICES

# Each service's .proto lives in its contract: ecommerce/contracts/<service>/v1/<service>.proto.
PROTO_ROOT = Path(__file__).resolve().parents[2] / "contracts"
GEN = Path(__file__).resolve().parent / "gen"
PACKAGE = "ecommerce.transports.grpc.gen"
_IMPORT = re.compile(rf"^from ({'|'.join(SERVICES)})(\.v\d+) import", re.MULTILINE)


def generate(into: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("*/v*/*.proto"))
    well_known = resources.files("grpc_tools") / "_proto"
    into.mkdir(parents=True, exist_ok=True)
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={into}",
            f"--pyi_out={into}",
            f"--grpc_python_out={into}",
            *protos,
        ]
    )
    if code != 0:
        raise SystemExit(f"protoc failed ({code})")
    (into / "__init__.py").write_text(
        '"""Generated from ecommerce/contracts/*/v1/*.proto by ecommerce/transports/grpc/generate.py; never edit."""\n'
    )
    for directory in {p.parent for p in into.rglob("*.py")} | {
        d for d in into.rglob("*") if d.is_dir()
    }:
        init = directory / "__init__.py"
        if not init.exists():
            init.write_text("")
    for path in into.rglob("*.py*"):
        text = path.read_text()
        fixed = _IMPORT.sub(rf"from {PACKAGE}.\1\2 import", text)
        if fixed != text:
            path.write_text(fixed)


def _same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    if comparison.left_only or comparison.right_only or comparison.diff_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / d, right / d) for d in comparison.common_dirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if gen/ is not current")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "gen"
        generate(fresh)
        if args.check:
            if GEN.exists() and _same_tree(fresh, GEN):
                print("ecommerce/transports/grpc/gen is current")
                return 0
            print(
                "ecommerce/transports/grpc/gen is stale: run `make proto` and commit",
                file=sys.stderr,
            )
            return 1
        shutil.rmtree(GEN, ignore_errors=True)
        shutil.copytree(fresh, GEN)
    print(f"generated {GEN.relative_to(PROTO_ROOT.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
