"""Entry script for the PyInstaller bundle: the console launcher (CLI, --version, --self-test).

Without arguments it opens the desktop app, like the installed ``photoclip`` command.
"""

import multiprocessing
import sys

from photoclip.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen Windows/macOS app must not re-run main in children
    sys.exit(main())
