"""Dialogs of the reviewer's desk: reject, escalate, settings, password, keyboard cheat sheet."""
