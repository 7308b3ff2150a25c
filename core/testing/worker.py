"""`python -m syncd.testing.worker -c syncd.toml run --once`: the real CLI plus the test plugin.

Subprocess tests (fault injection, several workers) need the in-process testing plugin inside
the worker; entry points cannot be added at test time, so this module builds the CLI context
with the plugin registered and hands over to the ordinary `syncd` command group. Installed
plugins are left out (fast start) unless named in $SYNCD_WORKER_PLUGINS ("amazon,render").
"""

from __future__ import annotations

import os
import sys

from syncd.plugins import load_plugins
from syncd.testing.plugin import PLUGIN


def main(argv: list[str] | None = None) -> None:
    import click

    from syncd.cli import cli
    from syncd.cli.context import CliContext
    from syncd.errors import SyncdError

    context = CliContext(config_path=None)
    named = os.environ.get("SYNCD_WORKER_PLUGINS", "")
    context.host = load_plugins(only={n for n in named.split(",") if n}, extra=[PLUGIN])
    try:
        code = cli.main(args=sys.argv[1:] if argv is None else argv,
                        prog_name="syncd-test-worker", obj=context, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SyncdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
