"""``python -m lakestream <command> …``: the Lakestream command line (see :mod:`lakestream.cli`)."""
from .cli import main

if __name__ == "__main__":
    main()
