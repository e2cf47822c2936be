"""Entry script for the windowed PyInstaller executable (no console window on Windows;
the executable inside photoclip.app on macOS). Same as the installed ``photoclip-gui`` command."""

import multiprocessing
import sys

from photoclip.__main__ import gui_main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(gui_main())
