"""The `tenderhall` console command: Django's management commands with the platform's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    from config.environment import ConfigurationError

    try:
        settings.INSTALLED_APPS  # noqa: B018  # load the settings now, to report a bad configuration plainly
    except ConfigurationError as error:
        print(f"tenderhall: {error}", file=sys.stderr)
        sys.exit(2)
    execute_from_command_line(["tenderhall", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
