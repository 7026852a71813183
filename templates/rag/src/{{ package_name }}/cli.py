"""The command line (a placeholder until the pipeline's commands land: ingest, search, ask, eval,
tune, demo, site)."""

from .console import create_app

app = create_app("Answer questions about your documents, with cited sources, offline.")


@app.command()
def demo() -> None:
    """Placeholder: the demo ingests the bundled corpus, answers questions and evaluates."""


@app.command()
def site() -> None:
    """Placeholder: the results site."""
