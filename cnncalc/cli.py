"""The command line: options → one library call → one renderer. One error boundary, in :func:`main`.

Commands live in :mod:`cnncalc.commands`, one module each, discovered at start-up. Heavy imports
(numpy, rich rendering) happen inside the commands, so ``cnncalc --help`` stays instant.
"""

from __future__ import annotations

import sys

import typer

from . import __version__
from .errors import CnncalcError

app = typer.Typer(
    name="cnncalc",
    help="Shapes, parameters, MACs and FLOPs of CNN architectures from a YAML spec, with the arithmetic shown.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """cnncalc: what shape comes out, how many parameters, how many MACs: exactly, and why."""
    _state["debug"] = _state["debug"] or debug


def _register(argv: list[str]) -> None:
    from . import commands

    first = argv[0] if argv and not argv[0].startswith("-") else None
    commands.register_all(app, only=first)


_register(sys.argv[1:])


def _take_debug(args: list[str]) -> tuple[list[str], bool]:
    """``--debug`` is accepted anywhere before a ``--`` (``cnncalc summary x --debug`` too)."""
    end = args.index("--") if "--" in args else len(args)
    kept = [a for a in args[:end] if a != "--debug"] + args[end:]
    return kept, len(kept) != len(args)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cnncalc`` console script and ``python -m cnncalc``."""
    args, debug = _take_debug(list(argv if argv is not None else sys.argv[1:]))
    _state["debug"] = debug
    if argv is not None:
        _register(args)  # called in-process with other arguments than the process's own
    try:
        _run(args, debug)
        sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
    except BrokenPipeError:
        _quiet_pipe()
    except SystemExit as err:
        # rich ends a closed pipe with SystemExit(1): `| head` is not an error
        if isinstance(err.__context__, BrokenPipeError):
            _quiet_pipe()
        raise


def _quiet_pipe() -> None:
    """The reader of stdout went away (``cnncalc … | head``): stop quietly with exit 0, as git does.

    stdout is pointed at /dev/null so that the interpreter's final flush has nowhere to fail.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass
    sys.exit(0)


def _run(args: list[str], debug: bool) -> None:
    click_error, no_args_error = _click_errors()
    try:
        rv = app(args=args, prog_name="cnncalc", standalone_mode=False)
    except no_args_error as err:  # `cnncalc` alone: the help (printed once), as a usage error
        text = err.format_message()
        if text.strip():  # plain click formats the help into the message; rich printed it already
            print(text)
        sys.exit(err.exit_code)
    except click_error as err:  # bad options or values: one line too, exit 2
        if debug or _state["debug"]:
            raise
        ctx = getattr(err, "ctx", None)
        path = ctx.command_path if ctx is not None else "cnncalc"
        message = " ".join(err.format_message().split()).rstrip(".")
        print(f"error: {message}; see '{path} --help'", file=sys.stderr)
        sys.exit(err.exit_code)
    except CnncalcError as err:
        if debug or _state["debug"]:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except (OSError, RecursionError, MemoryError) as err:
        if debug or _state["debug"]:
            raise
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # noqa: BLE001 - the one boundary: never a traceback by default
        if debug or _state["debug"]:
            raise
        print(
            f"error: internal error ({type(err).__name__}: {err}); this is a cnncalc bug, "
            "run with --debug and report it",
            file=sys.stderr,
        )
        sys.exit(1)
    if isinstance(rv, int) and rv:
        sys.exit(rv)


def _click_errors() -> tuple[type[Exception], type[Exception]]:
    """Click's exception classes: vendored as ``typer._click`` since typer 0.26, else click's."""
    try:
        from typer._click import exceptions as ce
    except ImportError:  # pragma: no cover - typer < 0.26 depends on click
        from click import exceptions as ce  # type: ignore[no-redef]
    no_args = getattr(ce, "NoArgsIsHelpError", None)
    return ce.ClickException, no_args or _Never


class _Never(Exception):
    """Stands in for an exception class the installed click does not have."""
