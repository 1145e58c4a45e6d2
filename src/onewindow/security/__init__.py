"""Security (安全): sign-in, sessions, API tokens, permissions, masking, encryption at rest,
the tamper-evident ledger and personal-data rights."""

from onewindow.security import ledger_hooks

ledger_hooks.install()
