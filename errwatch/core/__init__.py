"""Everything that is not drawing. Nothing under ``errwatch.core`` imports Textual."""
