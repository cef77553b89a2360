"""The call script beside the worklist: for the selected debt, the treatment's script
(right-party verification first, then the FDCPA disclosure, the validation notice, the
treatment's own words) with the names filled in, and the voicemail that says nothing
about the debt. Pure text from domain.collections; nothing is read here."""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from agent_desktop.domain import collections as rules
from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.collections import WorkItem
from agent_desktop.ui.widgets.common import section_title

_TITLES = {rules.ScriptKind.REMINDER: "Reminder script", rules.ScriptKind.STANDARD:
           "Standard script", rules.ScriptKind.REPEAT_LATE: "Repeat late payer script",
           rules.ScriptKind.HARDSHIP: "Hardship script"}


def script_kind_for(item: WorkItem) -> rules.ScriptKind:
    """The account's own treatment when it has a script (hardship...), else the
    worklist's (reminder first, repeat late, standard)."""
    if item.account_treatment in ("hardship", "gentle"):
        return rules.script_kind(item.account_treatment)
    return rules.script_kind(item.treatment)


class ScriptPanel(QWidget):
    """What to say on the call about the selected debt."""

    def __init__(self, agent_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent_first = agent_name.split()[0] if agent_name.split() else ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        self.title = section_title("Call script")
        layout.addWidget(self.title)
        self.text = QLabel("Choose a debt to see what to say.")
        self.text.setAccessibleName("Call script")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setWidget(self.text)
        layout.addWidget(scroll, 1)
        self.kind: rules.ScriptKind | None = None

    def show_item(self, item: WorkItem | None, today: date) -> None:
        if item is None:
            self.kind = None
            self.title.setText("Call script")
            self.text.setText("Choose a debt to see what to say.")
            return
        self.kind = script_kind_for(item)
        self.title.setText(_TITLES[self.kind])
        steps = rules.fill_script(
            self.kind, customer_name=item.customer_name, agent_name=self.agent_first,
            business_name=rules.BUSINESS_NAME, balance_cents=item.balance_cents,
            validation_notice_sent_on=item.validation_notice_sent_on, today=today)
        parts = [f"<p><b>{n}. {html.escape(title)}</b><br>{html.escape(words)}</p>"
                 for n, (title, words) in enumerate(steps, start=1)]
        try:
            voicemail = rules.voicemail_script(self.agent_first or "Alex",
                                               rules.CALLBACK_NUMBER, rules.BUSINESS_NAME)
        except UserFacingError as exc:
            voicemail = str(exc)
        parts.append(f"<p><b>Voicemail</b> (nothing about the debt)<br>"
                     f"{html.escape(voicemail)}</p>")
        self.text.setText("".join(parts))

    def plain_text(self) -> str:
        return self.text.text()
