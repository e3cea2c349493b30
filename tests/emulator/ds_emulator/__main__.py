"""``python -m ds_emulator --port N``: run the emulator (see server.py)."""

from .server import main

main()
