"""The `onewindow` command."""
