"""The baseline: a bare Textual app that shows one line and does nothing else."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Hello(App[None]):
    """Hello, world."""

    def compose(self) -> ComposeResult:
        yield Static("hello world")


if __name__ == "__main__":
    Hello().run()
