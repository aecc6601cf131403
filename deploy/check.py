"""``python -m deploy.check FILE_OR_DIR...``: check ZenML Kubernetes run configs offline.

Exit status 0 when every file passes, 1 when any problem is found, 2 on bad usage.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def _expand(arguments: list[str]) -> list[Path]:
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        else:
            files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if arguments else 2
    # ZenML's own warnings about the same fields would only repeat our messages
    logging.getLogger("zenml").setLevel(logging.ERROR)
    from deploy.checks import check_file

    failed = 0
    for path in _expand(arguments):
        problems = check_file(path)
        if problems:
            failed += 1
            for problem in problems:
                print(f"ERROR {problem}")
        else:
            print(f"OK    {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
