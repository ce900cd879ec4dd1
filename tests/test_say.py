"""Notes and warnings: one look for the command line's and a library run's."""

from __future__ import annotations

from rich.console import Console

from ofa_edge.say import say_note, say_warning


def test_a_note_is_a_dimmed_bullet_and_a_warning_a_yellow_label() -> None:
    console = Console(record=True, width=200, force_terminal=True, color_system="standard")
    say_note(console, "picked 10 classes")
    say_warning(console, "only 8 images")
    styled = console.export_text(styles=True, clear=False)
    assert console.export_text().splitlines() == ["• picked 10 classes", "warning: only 8 images"]
    assert "\x1b[2m•\x1b[0m" in styled and "\x1b[33mwarning:\x1b[0m" in styled
