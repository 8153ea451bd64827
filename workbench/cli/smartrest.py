"""`workbench smartrest template push | pull | check`: SmartREST 2.0 template collections from the command line.

Why: firmware developers keep their collection as a file; these commands publish it to the local platform or a
tenant, read it back, and show what device lines become, with the same rules the local platform applies. The work
is in `workbench/services/smartrest_templates.py`; this module reads options and prints results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from workbench.cli.common import add_json_option, emit
from workbench.cli.platform_target import PlatformTarget, add_target_options
from workbench.core.files import write_atomic
from workbench.errors import InvalidInputError, PlatformRequestError, TlsError
from workbench.services import smartrest_templates as templates
from workbench.services.platform_http import PlatformHttp

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `smartrest template` and its verbs to the CLI."""
    parser = sub.add_parser("smartrest", help="SmartREST 2.0 custom template collections",
                            description="Push, pull and check SmartREST 2.0 template collections (the s/ut, s/uc, "
                                        "s/dc templates) against the local platform (--local) or a tenant (--url).")
    areas = parser.add_subparsers(dest="smartrest_area", required=True, metavar="{template}")
    template = areas.add_parser("template", help="push, pull or check a template collection")
    verbs = template.add_subparsers(dest="template_verb", required=True, metavar="{push,pull,check}")

    push = verbs.add_parser("push", help="create (or --replace) a collection as a managed object over REST",
                            description="FILE holds the cloud's JSON export (or the template fragment), or the "
                                        "10,…/11,… creation lines (then --xid names it).")
    push.add_argument("file", type=Path, help="the collection: JSON export or creation lines")
    push.add_argument("--xid", help="the X-ID (default: the one the JSON export names)")
    push.add_argument("--replace", action="store_true", help="change the collection when the X-ID exists")
    add_target_options(push, required=True)
    add_json_option(push)
    push.set_defaults(handler=run_push)

    pull = verbs.add_parser("pull", help="read a collection over REST and write it as the cloud's JSON export")
    pull.add_argument("xid", help="the collection's X-ID")
    pull.add_argument("--out", type=Path, help="write it here (default: print it)")
    pull.add_argument("--format", choices=("json", "lines"), default="json",
                      help="json: the cloud's export form; lines: the s/ut creation lines (default json)")
    add_target_options(pull, required=True)
    pull.set_defaults(handler=run_pull)

    check = verbs.add_parser("check", help="show what device lines become (the JSON the platform stores)",
                             description="The collection comes from --file (offline) or from the platform "
                                         "(--xid with --local or --url). Exit 1 when a line would be refused.")
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="the collection: JSON export or creation lines")
    source.add_argument("--pull", dest="pull_xid", metavar="XID", help="read the collection from the platform")
    check.add_argument("--xid", help="with --file: the X-ID when the file does not name it")
    check.add_argument("lines", nargs="*", metavar="LINE", help="device lines, e.g. 901,,98.5 (default: stdin)")
    add_target_options(check, required=False)
    add_json_option(check)
    check.set_defaults(handler=run_check)


class _Target(PlatformTarget):
    """The platform of one command, and the run of its work in one session."""

    def run(self, args: argparse.Namespace, work: Callable[[PlatformHttp], Awaitable[T]]) -> T | None:
        """Run the work in a session; a refusal of the platform is printed and gives None (exit 1)."""
        async def session() -> T:
            async with self.http() as http:
                return await work(http)

        try:
            return asyncio.run(session())
        except (PlatformRequestError, TlsError) as exc:
            if getattr(args, "json", False):
                print(json.dumps(exc.to_dict(), indent=2), file=sys.stderr)
            else:
                print(f"error: {exc}", file=sys.stderr)
            return None
        finally:
            self.close()


def run_push(args: argparse.Namespace) -> int:
    """Read the file, then create or replace the collection; exit 1 when the platform refuses."""
    collection = templates.read_collection_file(args.file, args.xid)
    result = _Target(args).run(args, lambda http: templates.push(http, collection, replace=args.replace))
    if result is None:
        return 1
    emit(args, {"xid": result.xid, "managedObject": result.managed_object, "created": result.created,
                "requestTemplates": len(collection.requests), "responseTemplates": len(collection.responses)},
         lambda r: f"{'created' if r['created'] else 'replaced'} template collection {r['xid']} as managed object "
                   f"{r['managedObject']} ({r['requestTemplates']} request, {r['responseTemplates']} response "
                   "templates)")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    """Read the collection and print or write it (atomically)."""
    collection = _Target(args).run(args, lambda http: templates.pull(http, args.xid))
    if collection is None:
        return 1
    text = templates.creation_text(collection) + "\n" if args.format == "lines" else \
        json.dumps(templates.export_document(collection), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_atomic(args.out, text.encode())
        print(f"wrote template collection {collection.xid} to {args.out}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check each line; print its template and JSON, or the platform's error line. Exit 1 when any is refused."""
    if args.file is not None:
        if args.local or args.url:
            raise InvalidInputError("--file checks offline; --local and --url go with --pull",
                                    ("Drop --local/--url, or use --pull XID.",))
        collection = templates.read_collection_file(args.file, args.xid)
    else:
        if not (args.local or args.url):
            raise InvalidInputError("--pull needs the platform", ("Add --local, or --url with --user.",))
        pulled = _Target(args).run(args, lambda http: templates.pull(http, args.pull_xid))
        if pulled is None:
            return 1
        collection = pulled
    text = "\n".join(args.lines) if args.lines else sys.stdin.read()
    checks = templates.check_lines(collection, text)
    if not checks:
        raise InvalidInputError("No device lines to check", ("Give lines as arguments or on stdin.",))
    report: dict[str, Any] = {"xid": collection.xid, "lines": [c.to_dict() for c in checks]}

    def human(r: dict[str, Any]) -> str:
        out = []
        for check in checks:
            out.append(check.line)
            out.append(f"  {check.summary()}")
            if check.document is not None:
                out.extend("  " + row for row in json.dumps(check.document, indent=2).splitlines())
        return "\n".join(out)

    emit(args, report, human)
    return 0 if all(c.ok for c in checks) else 1
