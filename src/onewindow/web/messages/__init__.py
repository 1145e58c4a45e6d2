"""Per-area page messages.

Each module holds ``MESSAGES: dict[str, tuple[str, str]]`` (中文, English);
``onewindow.web.i18n`` merges them into one catalogue at import, and a key defined twice fails.
"""
