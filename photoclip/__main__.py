"""photoclip entry point: no arguments opens the desktop app, a subcommand runs the CLI."""

from __future__ import annotations

import sys
from typing import Optional, Sequence


def gui_main(argv: Optional[Sequence[str]] = None) -> int:
    from photoclip.display import display_problem

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from photoclip.gui.app import run_app

    return run_app(list(sys.argv if argv is None else argv))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The app takes only Qt's own options and --library; anything else is the command line.
    if not args or (args[0] == "--library" and len(args) == 2) or args[0].startswith("--library="):
        return gui_main([sys.argv[0], *args])
    from photoclip.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
