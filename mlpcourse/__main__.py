"""python -m mlpcourse COMMAND: provision | library | release | gradebook | lectures | nbval-copies | check | grade | student-setup | hub | benchmark | all (see the README)."""
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv else "help"
    if command == "provision":
        from .data import main as run
    elif command == "check":
        from .check import main as run
    elif command == "grade":
        from .classroom import main as run
    elif command == "student-setup":
        from .student_setup import main as run
    elif command == "hub" and argv[:1] == ["loadtest"]:  # the load test uses hub.py: hub.py never imports it
        argv.pop(0)
        from .hub_loadtest import main as run
    elif command == "hub":
        from .hub import main as run
    elif command == "benchmark":
        from .benchmark import main as run
    elif command == "release":
        from .assignments import release_main as run
    elif command == "gradebook":
        from .assignments import gradebook_main as run
    elif command == "lectures":
        from .lectures import main as run
    elif command == "library":
        from .library import main as run
    elif command == "nbval-copies":
        from .testcopies import main as run
    elif command == "all":
        from .pipeline import main as run
    else:
        print(__doc__)
        return 0 if command == "help" else 2
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
