"""The Textual dashboard: widgets and screens over ``errwatch.core``; no IO of its own."""
