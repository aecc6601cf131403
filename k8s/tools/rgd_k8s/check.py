"""``python -m rgd_k8s.check FILE_OR_DIR...``: check ZenML Kubernetes run configs offline.

Exit status 0 when every file passes, 1 when any problem is found, 2 on bad usage.
(``rgd k8s check`` runs the same checks through :func:`expand` and :func:`run_checks`.)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path


def expand(arguments: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories become their ``*.yaml`` / ``*.yml`` files, recursively, sorted.

    A directory without any YAML file is a ValueError (a wrong path, most likely)."""
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
            if not found:
                raise ValueError(f"{path}: no .yaml/.yml files in this directory")
            files += found
        else:
            files.append(path)
    return files


def run_checks(files: Iterable[Path], echo: Callable[[str], None] = print) -> int:
    """Check every file, echo ``OK``/``ERROR`` lines; the number of files with problems."""
    # ZenML's own warnings about the same fields would only repeat our messages
    logging.getLogger("zenml").setLevel(logging.ERROR)
    from rgd_k8s.checks import check_file

    failed = 0
    for path in files:
        problems = check_file(path)
        if problems:
            failed += 1
            for problem in problems:
                echo(f"ERROR {problem}")
        else:
            echo(f"OK    {path}")
    return failed


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if arguments else 2
    try:
        files = expand(arguments)
    except ValueError as exc:
        print(f"ERROR {exc}")
        return 2
    return 1 if run_checks(files) else 0


if __name__ == "__main__":
    sys.exit(main())
