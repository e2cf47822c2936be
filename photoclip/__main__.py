"""photoclip entry point: no arguments opens the desktop app, a subcommand runs the CLI."""

from __future__ import annotations

import os
import sys
from typing import Optional, Sequence


def gui_main(argv: Optional[Sequence[str]] = None, open_photos: Sequence[str] = ()) -> int:
    from photoclip.display import display_problem

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from photoclip.gui.app import run_app

    return run_app(list(sys.argv if argv is None else argv), open_photos=open_photos)


def _photo_files(args: Sequence[str]) -> list[str]:
    """``photoclip PHOTO...`` (what a desktop's "Open with photoclip" runs): the photo files
    given, or [] when ``args`` are a command line."""
    if not args or any(a.startswith("-") for a in args):
        return []
    from photoclip.core.images import is_image_path

    return list(args) if all(os.path.isfile(a) and is_image_path(a) for a in args) else []


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The app takes only Qt's own options, --library and photo files; the rest is the command line.
    if not args or (args[0] == "--library" and len(args) == 2) or args[0].startswith("--library="):
        return gui_main([sys.argv[0], *args])
    photos = _photo_files(args)
    if photos:
        return gui_main([sys.argv[0]], open_photos=photos)
    from photoclip.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
