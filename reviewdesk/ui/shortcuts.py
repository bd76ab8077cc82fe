"""The desk's actions, declared as data, and the QActions built from them.

Each action has an id, a title, a default key, and the name of the window method that handles
it. The reviewer may remap keys in the settings; the map is stored by action id. Decision
actions never auto-repeat, and a held key is swallowed until it is released, so holding a key
decides once (see ``HeldKeyGuard``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class ActionSpec:
    id: str
    title: str
    default_key: str  # portable QKeySequence text
    handler: str  # the name of the window method that runs it
    group: str  # "decide": one key, one decision; "review": the queue; "desk": the app
    description: str
    extra_keys: tuple[str, ...] = ()  # fixed alternatives, not remappable


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("approve", "Approve", "A", "approve", "decide", "Approve the draft as it is"),
    ActionSpec("edit", "Edit", "E", "begin_edit", "decide", "Correct the draft, then Ctrl+Enter"),
    ActionSpec("reject", "Reject", "R", "open_reject", "decide", "Reject it, with a reason"),
    ActionSpec(
        "escalate", "Escalate", "X", "open_escalate", "decide", "Escalate it, with a severity"
    ),
    ActionSpec("skip", "Skip", "S", "skip", "decide", "Give it back to the queue; see the next"),
    ActionSpec("undo", "Undo", "Ctrl+Z", "undo", "review", "Undo your last decision"),
    ActionSpec("refresh", "Refresh", "F5", "refresh", "review", "Look for new drafts now"),
    ActionSpec(
        "end_session",
        "End session",
        "Ctrl+Shift+E",
        "end_session",
        "review",
        "End this session now: your drafts go back, and your break starts",
    ),
    ActionSpec(
        "cheat_sheet",
        "Keyboard shortcuts",
        "?",
        "show_cheat_sheet",
        "desk",
        "Show this list of keys",
        extra_keys=("F1",),
    ),
    ActionSpec(
        "settings", "Settings…", "Ctrl+,", "open_settings", "desk", "Database, reviewer, keys"
    ),
    ActionSpec("desk_view", "Review desk", "Ctrl+1", "show_desk", "desk", "Back to the drafts"),
    ActionSpec(
        "lead_view",
        "Lead view",
        "Ctrl+2",
        "show_lead",
        "desk",
        "Statistics, recommendations and escalations (the lead role, in Settings)",
    ),
    ActionSpec(
        "export",
        "Export dataset…",
        "Ctrl+Shift+X",
        "open_export",
        "desk",
        "Export the decisions as a labelled test set (for leads)",
    ),
)
SPECS: Mapping[str, ActionSpec] = {spec.id: spec for spec in ACTIONS}

# Keys of the inline editor; fixed, so a remapped key can never take them.
SUBMIT_EDIT_KEYS = ("Ctrl+Return", "Ctrl+Enter")
CANCEL_EDIT_KEY = "Esc"
RESERVED_KEYS = frozenset((*SUBMIT_EDIT_KEYS, CANCEL_EDIT_KEY))


def normalized(key: str) -> str:
    """A key sequence in portable text form ('' if it is not one)."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText)


def native_text(key: str) -> str:
    """A key sequence as this platform writes it (``Ctrl+Z``, ``⌘Z``)."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


def resolve_keymap(overrides: Mapping[str, str]) -> dict[str, str]:
    """Defaults with the reviewer's remappings on top; unknown ids and bad keys are dropped."""
    keymap = {spec.id: normalized(spec.default_key) for spec in ACTIONS}
    for action_id, key in overrides.items():
        if action_id in keymap and normalized(key):
            keymap[action_id] = normalized(key)
    return keymap


def keymap_problems(keymap: Mapping[str, str]) -> list[str]:
    """What is wrong with a key map, in words; empty if it can be used."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    fixed = {normalized(k) for spec in ACTIONS for k in spec.extra_keys}
    reserved = {normalized(k) for k in RESERVED_KEYS}
    for spec in ACTIONS:
        key = normalized(keymap.get(spec.id, ""))
        if not key:
            problems.append(f"{spec.title} has no key.")
            continue
        if key in reserved or key in fixed:
            problems.append(f"{native_text(key)} is reserved; choose another key for {spec.title}.")
        elif key in owner:
            problems.append(
                f"{native_text(key)} is set for both {SPECS[owner[key]].title} and {spec.title}."
            )
        owner.setdefault(key, spec.id)
    return problems


def keymap_overrides(keymap: Mapping[str, str]) -> dict[str, str]:
    """Only the keys that differ from the defaults: what the settings file stores."""
    return {
        spec.id: normalized(keymap[spec.id])
        for spec in ACTIONS
        if spec.id in keymap and normalized(keymap[spec.id]) != normalized(spec.default_key)
    }


class HeldKeyGuard(QObject):
    """Swallows the auto-repeats of a key that just fired an action, until it is released.

    Without it, holding E would open the editor and then type "eeee" into it, and holding R
    would keep typing into the reject dialog.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._held: set[int] = set()

    def hold(self, sequences: Iterable[QKeySequence]) -> None:
        """Swallow auto-repeats of these keys until they are released. The guard watches the
        application's key events only while it holds a key."""
        for sequence in sequences:
            if sequence.count():
                first = sequence[0]  # type: ignore[index]  # the stubs lack __getitem__
                self._held.add(first.key().value)
        app = QCoreApplication.instance()
        if self._held and app is not None:
            app.removeEventFilter(self)  # never twice
            app.installEventFilter(self)

    def _release(self, key: int) -> None:
        self._held.discard(key)
        app = QCoreApplication.instance()
        if not self._held and app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if not self._held or event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        if key not in self._held:
            return False
        if event.isAutoRepeat():
            return True
        if event.type() == QEvent.Type.KeyRelease:
            self._release(key)
        return False


class ShortcutSet(QObject):
    """The QActions of ``ACTIONS`` for one window, with the reviewer's key map applied."""

    def __init__(self, keymap: Mapping[str, str], guard: HeldKeyGuard, parent: QWidget) -> None:
        super().__init__(parent)
        self._guard = guard
        self.actions: dict[str, QAction] = {}
        for spec in ACTIONS:
            action = QAction(spec.title, parent)
            action.setObjectName(f"action_{spec.id}")
            action.setStatusTip(spec.description)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if spec.group == "decide":
                # A held key must not decide again: no auto-repeat, and the guard swallows the
                # repeats that would otherwise reach a dialog or the editor.
                action.setAutoRepeat(False)
                action.triggered.connect(lambda _=False, a=action: self._guard.hold(a.shortcuts()))
            self.actions[spec.id] = action
        self.apply_keymap(keymap)

    def connect_handlers(self, target: object) -> None:
        """Run ``target.<handler>()`` when each action triggers."""
        for spec in ACTIONS:
            handler = getattr(target, spec.handler)
            self.actions[spec.id].triggered.connect(lambda _=False, h=handler: h())

    def install(self, widget: QWidget) -> None:
        widget.addActions(list(self.actions.values()))

    def apply_keymap(self, keymap: Mapping[str, str]) -> None:
        resolved = resolve_keymap(keymap)
        for spec in ACTIONS:
            keys = [QKeySequence(resolved[spec.id])] + [QKeySequence(k) for k in spec.extra_keys]
            self.actions[spec.id].setShortcuts(keys)

    def keymap(self) -> dict[str, str]:
        return {
            spec.id: self.actions[spec.id]
            .shortcut()
            .toString(QKeySequence.SequenceFormat.PortableText)
            for spec in ACTIONS
        }

    def set_enabled(self, ids: Iterable[str], enabled: bool) -> None:
        for action_id in ids:
            self.actions[action_id].setEnabled(enabled)

    def key_text(self, action_id: str) -> str:
        return self.actions[action_id].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
