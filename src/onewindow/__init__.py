"""onewindow: one-window government service delivery, improved from its own event log."""

__version__ = "0.1.0"
