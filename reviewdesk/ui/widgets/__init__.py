"""Widgets of the reviewer's desk. They show plain data and never touch the database."""
