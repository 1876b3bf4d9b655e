"""``python -m datasynth`` is the ``datasynth`` command."""

from datasynth.cli.main import main

raise SystemExit(main())
