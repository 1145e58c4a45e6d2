"""Event log: the append-only, XES-shaped record of every step of every case."""
