"""``python -m signdistill`` runs the command-line interface."""

from signdistill.console import app

if __name__ == "__main__":
    app()
