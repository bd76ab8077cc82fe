"""Use-cases on top of storage: the queue, and later sessions, statistics and export. No Qt."""
