"""The command line (a placeholder: the stages are added one command at a time)."""

from .console import create_app

app = create_app("Train, evaluate and export an image classifier on the bundled images.")


@app.command()
def demo() -> None:
    """Run every stage on the bundled images."""
