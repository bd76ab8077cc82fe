"""What is shown beside the draft: its header, metadata, structured context and history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QSizePolicy, QWidget

from reviewdesk.core.domain import Draft, History, Lease, Risk
from reviewdesk.core.hidden_text import hidden_count
from reviewdesk.ui.text import (
    display_text,
    duration,
    hidden_summary,
    local_time,
    one_line,
    reason_label,
    scalar_text,
)
from reviewdesk.ui.widgets.text_views import SectionsView

# Below this model confidence a draft is shown with a warning: the model itself doubted it.
LOW_CONFIDENCE = 0.5


def low_confidence(confidence: float | None) -> bool:
    return confidence is not None and confidence < LOW_CONFIDENCE


def plain_label(text: str = "", parent: QWidget | None = None, *, name: str = "") -> QLabel:
    """A QLabel that never interprets its text as rich text (QLabel guesses by default)."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    if name:
        label.setObjectName(name)
    return label


class ElidedLabel(QLabel):
    """One line of plain text that gives up width when space is short: the middle of the text
    gives way to "…", and the tooltip holds it whole. ``text()`` is the whole text."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "") -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if name:
            self.setObjectName(name)
        self._full = ""

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._full = text
        self.setToolTip(text)
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        size = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, size.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.fontMetrics().horizontalAdvance("M") * 8, super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        elided = self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideMiddle, self.width()
        )
        super().setText(elided)


def chip(tone: str = "", parent: QWidget | None = None) -> QLabel:
    label = plain_label(parent=parent, name="chip")
    label.setProperty("tone", tone)
    return label


class DraftHeader(QWidget):
    """The draft's id with chips for its category, risk and model confidence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = plain_label(name="draftTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setAccessibleName("Draft id")
        self.category = chip()
        # One chip per risk level, shown or hidden: restyling one chip on each draft would
        # cost a style polish (about a millisecond) on the way to the screen.
        self.risks = {risk: chip(f"risk-{risk.value}") for risk in Risk}
        for risk, label in self.risks.items():
            label.setText(f"{risk.value} risk")
        self.confidence = chip()
        # A chip of its own rather than a restyled one (see the risks above).
        self.low_confidence = chip("warning")
        self.low_confidence.setToolTip(
            f"The model's own confidence in this draft is below {LOW_CONFIDENCE:.0%}: "
            "read it with extra care."
        )
        self.hidden = chip("warning")
        self.waiting = plain_label(name="muted")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.title.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.title.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 6)
        layout.addWidget(self.title)
        layout.addSpacing(self.fontMetrics().height() // 2)
        for widget in (
            self.category,
            *self.risks.values(),
            self.confidence,
            self.low_confidence,
            self.hidden,
        ):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.waiting)
        self.show_draft(None)

    def show_draft(self, draft: Draft | None, *, now: datetime | None = None) -> None:
        chips = (
            self.category,
            *self.risks.values(),
            self.confidence,
            self.low_confidence,
            self.hidden,
        )
        if draft is None:
            self.title.setText("")
            for widget in (*chips, self.waiting):
                widget.hide()
            return
        self.title.setText(one_line(draft.id, 60))  # the Details tab has it in full
        self.category.setText(display_text(draft.category))
        self.category.show()
        for risk, label in self.risks.items():
            label.setVisible(risk is draft.risk)
        low = low_confidence(draft.confidence)
        if draft.confidence is not None:
            shown, other = (
                (self.low_confidence, self.confidence)
                if low
                else (
                    self.confidence,
                    self.low_confidence,
                )
            )
            shown.setText(f"{'⚠ low ' if low else ''}confidence {draft.confidence:.0%}")
            shown.show()
            other.hide()
        else:
            self.confidence.hide()
            self.low_confidence.hide()
        count = hidden_count(draft.draft)
        if count:
            self.hidden.setText(f"{count} hidden character{'s' if count > 1 else ''} shown")
            self.hidden.setToolTip(
                "This draft contains characters that can hide or reorder text: control, "
                "text-direction, zero-width or tag characters. Each is shown as a symbol or a "
                f"tag instead of being obeyed: {hidden_summary(draft.draft)}."
            )
        self.hidden.setVisible(count > 0)
        waited = duration((now or datetime.now(draft.created_at.tzinfo)) - draft.created_at)
        priority = f" · priority {draft.priority}" if draft.priority else ""
        self.waiting.setText(f"waiting {waited}{priority}")
        self.waiting.show()


class MetadataForm(QWidget):
    """Category, risk, model, confidence, age, priority and the rest, as a form."""

    FIELDS = (
        ("category", "Category"),
        ("risk", "Risk"),
        ("model", "Model"),
        ("confidence", "Confidence"),
        ("age", "Age"),
        ("priority", "Priority"),
        ("thread", "Thread"),
        ("id", "Draft id"),
        ("submitted", "Submitted"),
        ("lease", "Your lease"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Draft details")
        self.form = QFormLayout(self)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.values: dict[str, QLabel] = {}
        for key, title in self.FIELDS:
            value = plain_label()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(title)
            caption = plain_label(title, name="muted")
            caption.setBuddy(value)
            self.form.addRow(caption, value)
            self.values[key] = value
        self.extra = SectionsView("Producer metadata", self)
        self.extra.setMinimumHeight(self.fontMetrics().height() * 4)
        self.form.addRow(self.extra)

    def show_lease(self, lease: Lease | None, *, now: datetime | None = None) -> None:
        if lease is None:
            for value in self.values.values():
                value.setText("")
            self.extra.begin()
            self.extra.end()
            return
        draft = lease.draft
        when = now or datetime.now(draft.created_at.tzinfo)
        texts = {
            "category": display_text(draft.category),
            "risk": draft.risk.value,
            "model": display_text(draft.model) if draft.model else "—",
            "confidence": (
                "—"
                if draft.confidence is None
                else f"{draft.confidence:.2f}, low (below {LOW_CONFIDENCE:.2f})"
                if low_confidence(draft.confidence)
                else f"{draft.confidence:.2f}"
            ),
            "age": f"{duration(when - draft.created_at)} (created {local_time(draft.created_at)})",
            "priority": str(draft.priority),
            "thread": display_text(draft.thread) if draft.thread else "—",
            "id": display_text(draft.id),
            "submitted": local_time(draft.submitted_at),
            "lease": f"claimed {local_time(lease.claimed_at)}, kept while it is open",
        }
        for key, text in texts.items():
            self.values[key].setText(text)
        self.extra.begin()
        if draft.metadata:
            self.extra.heading("Producer metadata")
            _write_mapping(self.extra, draft.metadata, level=1)
        self.extra.end()


def _write_mapping(view: SectionsView, value: Any, *, level: int) -> None:
    """A JSON value as indented fields and sections."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                view.heading(str(key), level=level)
                _write_mapping(view, item, level=level + 1)
            elif isinstance(item, str) and ("\n" in item or len(item) > 80):
                view.heading(str(key), level=level)
                view.paragraph(item, level=level + 1)
            else:
                view.field(str(key), _scalar(item), level=level)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if all(not isinstance(item, Mapping | list) for item in value):
            for item in value:
                view.paragraph(f"• {_scalar(item)}", level=level)
            return
        for number, item in enumerate(value, start=1):
            title = item.get("title") if isinstance(item, Mapping) else None
            if isinstance(title, str) and title.strip():
                # A list of titled things (retrieved documents, say): the title heads each.
                view.heading(f"{number}. {title}", level=level)
                item = {k: v for k, v in item.items() if k != "title"}
            else:
                view.heading(f"{number}.", level=level)
            _write_mapping(view, item, level=level + 1)
    else:
        view.paragraph(_scalar(value), level=level)


def _scalar(value: Any) -> str:
    if isinstance(value, Mapping | list):
        return "{}" if isinstance(value, Mapping) else "[]"
    return scalar_text(value)


class ContextView(SectionsView):
    """The customer's input and the draft's structured context, as formatted sections."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Input and context", parent)

    def show_draft(self, draft: Draft | None) -> None:
        self.begin()
        if draft is None:
            self.end()
            return
        self.heading("Input")
        self.paragraph(draft.input if draft.input else "(no input given)", muted=not draft.input)
        self.heading("Context")
        if draft.context:
            _write_mapping(self, draft.context, level=1)
        else:
            self.paragraph("(none)", muted=True)
        self.end()


class HistoryView(SectionsView):
    """Earlier drafts and decisions on the thread, and this draft's audit trail."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("History", parent)

    def show_history(self, history: History | None, *, loading: bool = False) -> None:
        self.begin()
        if history is None:
            self.paragraph(
                "Loading…" if loading else "The history could not be read.", level=0, muted=True
            )
            self.end()
            return
        draft = history.draft
        if draft.thread:
            count = len(history.thread)
            self.heading(f"Thread {draft.thread}: {count} other draft{'s' if count != 1 else ''}")
            if not history.thread:
                self.paragraph("This is the first draft on the thread.", muted=True)
            for entry in history.thread:
                other = entry.draft
                decision = entry.decision
                verdict = "pending"
                if decision is not None:
                    verdict = f"{decision.label.value} by {decision.reviewer}"
                    if decision.reason:
                        verdict += f" ({reason_label(decision.reason)})"
                    if decision.severity:
                        verdict += f" ({decision.severity.value})"
                self.heading(f"{local_time(other.created_at)} · {other.id} · {verdict}", level=1)
                if other.input:
                    self.field("Input", one_line(other.input, 300), level=2)
                self.field("Draft", one_line(other.draft, 300), level=2)
                if decision is not None and decision.final and decision.final != other.draft:
                    self.field("Sent", one_line(decision.final, 300), level=2)
                if decision is not None and decision.note:
                    self.field("Note", one_line(decision.note, 300), level=2)
        else:
            self.heading("Thread")
            self.paragraph("This draft is not part of a thread.", muted=True)
        self.heading("Audit trail")
        for event in history.events:
            actor = f" · {event.actor}" if event.actor else ""
            epoch = f" · lease {event.epoch}" if event.epoch else ""
            self.paragraph(f"{local_time(event.at)}  {event.kind.value}{actor}{epoch}", mono=False)
        self.end()
