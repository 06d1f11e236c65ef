"""``python -m pipeline.cli``: the ``govpub`` command without its installed script."""

from pipeline.cli.main import main

main()
