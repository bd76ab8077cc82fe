"""The Qt desk: the only package that imports PySide6 (checked by import-linter).

``app`` is the composition root; ``worker`` runs all database work on one background thread;
``review_controller`` is the review state machine; ``main_window`` and ``widgets``/``dialogs``
are views that never touch the database.
"""
