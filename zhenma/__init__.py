"""Zhenma's shared core: configuration, the code format, the database, errors, the CLI root."""
