"""``python -m cli ...`` runs the ``gridtwin`` command line (used to start API processes in tests and benches)."""

from cli.main import app

app()
