"""Department-system integration: signed webhooks from a transactional outbox, retried
until acknowledged, with a dead-letter list an administrator can replay."""
