#!/usr/bin/env python
"""Django's command-line entry point; the mode picks the settings overlay."""

import os
import sys


def main() -> None:
    mode = os.environ.get("ECOMMERCE_MODE", "embedded")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"settings.{mode}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
