"""The demo city: a catalogue of real-shaped services and a synthetic population driven
through the real engine, so a fresh install has months of history to analyse."""
