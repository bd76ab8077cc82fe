"""Tests of the reviewer's desk (the Qt window), offscreen."""
