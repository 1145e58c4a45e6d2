"""Domain-free helpers: settings, database session, clock, errors, ids, pagination."""
