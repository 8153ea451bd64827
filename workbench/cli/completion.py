"""`workbench completion SHELL`: the shell's completion script (argcomplete), so TAB completes commands and options."""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "fish")

_HOW = {
    "bash": 'eval "$(workbench completion bash)"   (add it to ~/.bashrc to keep it)',
    "zsh": 'eval "$(workbench completion zsh)"    (add it to ~/.zshrc after compinit)',
    "fish": "workbench completion fish > ~/.config/fish/completions/workbench.fish",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `completion` to the CLI."""
    parser = subparsers.add_parser(
        "completion", help="print the shell completion script for bash, zsh or fish",
        description="Print a script that makes TAB complete workbench's commands and options.",
        epilog="\n".join(f"{shell}: {how}" for shell, how in _HOW.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    parser.add_argument("--executable", default="workbench", metavar="NAME",
                        help="the command name to complete (default workbench; e.g. workbench-cli on Windows)")
    parser.set_defaults(handler=run)


def script(shell: str, executable: str = "workbench") -> str:
    """The completion script of `shell` for `executable`."""
    import argcomplete

    return argcomplete.shellcode([executable], shell=shell)


def run(args: argparse.Namespace) -> int:
    """Print the script on stdout (the shell evaluates it)."""
    print(script(args.shell, args.executable), end="")
    return 0
