"""`tenderhall registry ...`: registry tools for operators. `check-codes` checks identifiers in bulk.

    tenderhall registry check-codes codes.txt
    cut -f2 export.tsv | tenderhall registry check-codes

One code a line in, one line a code out: ``code<TAB>valid|invalid<TAB>kind<TAB>reason`` (the reason of a
valid code is empty, or its warnings as ``warning: ...`` joined by ``; ``). Exit status 0 when every code
is valid, 1 when some are not, 2 when the input cannot be read. The rules are those of
:func:`tenderhall.core.codes.check_any` (docs/codes.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenderhall.core.codes import CodeCheck, check_any


class Command(BaseCommand):
    help = "Registry tools for operators: check-codes checks USCCs, organisation codes and resident IDs."
    # A text tool: the project's system checks have nothing to say about it.
    requires_system_checks = ()
    # Tests hand the command a stream to read instead of the process's standard input.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        check_codes = subcommands.add_parser(
            "check-codes",
            help="check identifiers, one a line, and print a verdict for each",
            description=(
                "Read codes one a line (blank lines skipped, surrounding whitespace ignored) and print "
                "'code<TAB>valid|invalid<TAB>kind<TAB>reason' for each. Kinds: uscc (统一社会信用代码), "
                "org_code (组织机构代码), resident_id (公民身份号码), unknown. Exit status: 0 all valid, "
                "1 some invalid, 2 input unreadable."
            ),
        )
        check_codes.add_argument(
            "file",
            nargs="?",
            default="-",
            metavar="FILE",
            help="UTF-8 text file; '-' or none: standard input",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "check-codes":
            self.check_codes(options["file"], stdin=options.get("stdin") or sys.stdin)

    def check_codes(self, file: str, *, stdin: TextIO) -> None:
        total = invalid = 0
        for code in _read_codes(file, stdin):
            result = check_any(code)
            total += 1
            invalid += not result.valid
            self.stdout.write(_line(result))
        if invalid:
            codes_are = "code is" if total == 1 else "codes are"
            raise CommandError(f"{invalid} of {total} {codes_are} invalid", returncode=1)


def _read_codes(file: str, stdin: TextIO) -> Iterator[str]:
    """The non-blank, stripped lines of ``file`` ('-': ``stdin``). Unreadable input: CommandError, status 2.

    A generator, so that only reading is guarded here: errors in writing the output pass through unchanged.
    """
    name = "standard input" if file == "-" else file
    try:
        with nullcontext(stdin) if file == "-" else Path(file).open(encoding="utf-8-sig") as lines:
            for line in lines:
                if code := line.strip().strip("\ufeff"):
                    yield code
    except FileNotFoundError:
        raise CommandError(f"{name}: no such file", returncode=2) from None
    except UnicodeDecodeError as error:
        raise CommandError(f"{name} is not UTF-8 text ({error.reason})", returncode=2) from None
    except OSError as error:
        raise CommandError(f"{name}: {error.strerror or error}", returncode=2) from None


def _line(result: CodeCheck) -> str:
    if result.valid:
        reason = "; ".join(f"warning: {warning}" for warning in result.warnings)
    else:
        reason = result.reason
    verdict = "valid" if result.valid else "invalid"
    return "\t".join((_printable(result.code), verdict, result.kind, reason))


def _printable(text: str) -> str:
    """Control characters (a stray tab would shift the columns) written as escapes."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text
    )
