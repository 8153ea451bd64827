"""The headless command line: same core as the GUI, scriptable, human output by default and --json for scripts."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
from collections.abc import Sequence

from workbench import __version__, logs
from workbench.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, WorkbenchError

log = logging.getLogger("workbench.cli")

# Each module registers its subcommands through `register(subparsers)`; keep the list in display order.
_COMMAND_MODULES: tuple[str, ...] = ("ca", "cert", "fleet", "keystore", "truststore", "tls", "pop", "demo", "onboard",
                                     "profile", "mqtt", "est", "simulate", "smartrest", "completion")


def _epilog() -> str:
    """What the executable does besides the commands, the exit codes, the log and completion."""
    return f"""\
exit codes:
  {EXIT_OK}    the command did its work, or its check passed
  {EXIT_FAILED}    a check failed (a chain that does not verify, lint findings, a PoP signature that does not match)
       or the work failed (refused by the platform or broker, no connection, a wrong password)
  {EXIT_USAGE}    usage: unknown options, bad option values, an input file that is missing, unreadable or not of
       the kind expected, no password source
  {EXIT_INTERRUPTED}  interrupted (Ctrl+C)

logs:
  Every command logs to cli.log (the GUI to gui.log) in {logs.log_dir()}
  (rotated at 1 MiB, 3 old files kept; no password or token is ever written). --verbose and --debug go before
  the command: `workbench --debug onboard --local`. The GUI logs more with WORKBENCH_LOG_LEVEL=debug.

shell completion:
  eval "$(workbench completion bash)"     (zsh: `completion zsh`, fish: `workbench completion fish | source`)
"""


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from the command modules, so each area owns its own options."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Device Onboarding Workbench. Run without arguments to open the GUI.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--verbose", dest="log_verbose", action="store_true",
                       help="also show informational log lines on stderr")
    level.add_argument("--debug", dest="log_debug", action="store_true",
                       help="show debug log lines on stderr and write them to the log file")
    parser.add_argument("--self-test", dest="self_test", action="store_true",
                        help="check that this installation works, then exit (0: every check passed)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"workbench.cli.{name}")
        module.register(sub)
    platform = sub.add_parser("local-platform", add_help=False, prefix_chars="\0",
                              help="run the local platform (the same program as `embedded-broker`)")
    platform.add_argument("platform_args", nargs=argparse.REMAINDER)
    platform.set_defaults(handler=_local_platform)
    return parser


def _local_platform(args: argparse.Namespace) -> int:
    """`workbench local-platform …` reached through run_cli (the executable's entry dispatches it first)."""
    from embedded_broker.__main__ import main as platform_main

    return platform_main(list(args.platform_args))


def exit_code(exc: BaseException) -> int:
    """The one mapping from a failure to the exit code: the error class says usage (2) or failed work (1)."""
    if isinstance(exc, WorkbenchError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def _command_path(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """`ca issue` from the arguments: the subcommand names only, never a value (it could be anything)."""
    names: list[str] = []
    current = parser
    for token in argv:
        if token.startswith("-"):
            continue
        choices = next((a.choices for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if not isinstance(choices, dict) or token not in choices:
            break
        names.append(token)
        current = choices[token]
    return " ".join(names)


def run_cli(argv: Sequence[str]) -> int:
    """Parse and run one command; every failure leaves as a message on stderr and an exit code of `exit_code`."""
    parser = build_parser()
    _complete_if_asked(parser)
    args = parser.parse_args(list(argv))  # usage errors exit 2 here (argparse)
    if args.self_test:
        from workbench.cli.self_test import run_self_test

        return run_self_test()
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_OK
    command = _command_path(parser, argv)
    with logs.logging_to("cli", verbose=args.log_verbose, debug=args.log_debug):
        started = time.monotonic()
        # Option names only: values may be paths a user would rather not share, and are never needed to reproduce.
        log.info("workbench %s: %s %s", __version__, command,
                 " ".join(t.split("=", 1)[0] for t in argv if t.startswith("-")))
        code = _run(handler, args)
        log.info("%s: exit %d after %.2f s", command, code, time.monotonic() - started)
        return code


def _run(handler: object, args: argparse.Namespace) -> int:
    """Call the handler and turn what it raises into the message and the exit code."""
    try:
        return int(handler(args) or EXIT_OK)  # type: ignore[operator]
    except WorkbenchError as exc:
        code = exit_code(exc)
        if getattr(args, "json", False):
            print(json.dumps(exc.to_dict(), indent=2), file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        log.info("%s (exit %d): %s", type(exc).__name__, code, exc.summary)
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        log.exception("unexpected error (a bug: please report it with this log)", extra=logs.FILE_ONLY)
        raise


def _complete_if_asked(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (argcomplete: `_ARGCOMPLETE` set) and exit; otherwise do nothing."""
    import argcomplete

    argcomplete.autocomplete(parser)
