"""Domain types and rules: plain Python, no database and no Qt."""
