#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    # Production by default: a developer, the demo and the tests name their settings
    # (config.settings.dev / .test); a server started without secrets refuses to run.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
