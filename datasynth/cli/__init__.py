"""The command line: ``python -m datasynth`` and the ``datasynth`` console script."""
