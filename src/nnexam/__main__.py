"""The `nnexam` command (also `python -m nnexam`): signals are caught before anything heavy is imported."""


def main() -> None:
    """Console-script entry point: SIGINT, SIGTERM and SIGHUP end the run with one line and status 128 + signal."""
    from .signals import Interrupted, catch_signals, exit_interrupted

    catch_signals()
    try:
        from .cli import cli

        cli(prog_name="nnexam")
    except Interrupted as e:
        exit_interrupted(e)


if __name__ == "__main__":
    main()
