"""The Cases area: the case list, and the cases the agent opened, in tabs.

Every change runs on the single writer (``Op(..., write=True)``); when it is saved the
list, the counts and the open case are read again, and ``changed`` tells the window which
customers' 360s to refresh and that the sync has something to send. A refusal is shown
where the agent is looking: in the dialog they are in, or on the case's header.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDialog, QTabWidget, QVBoxLayout, QWidget

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services import cases as service
from agent_desktop.services.cases import AgentChoice, CaseChange, CaseSheet, ViewRow
from agent_desktop.services.context import AgentContext, Changes
from agent_desktop.services.customer360 import Customer360, load_360
from agent_desktop.services.disputes import DisputeResolved
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.screens.cases.detail import CaseDetailView
from agent_desktop.ui.screens.cases.dialogs import (
    ActionDialog,
    AssignDialog,
    DraftArticleDialog,
    EscalateDialog,
    LinkArticleDialog,
    MergeDialog,
    NewCaseDialog,
    StatusDialog,
)
from agent_desktop.ui.screens.cases.list_view import CaseListPane
from agent_desktop.ui.screens.payments.disputes import CreditDialog
from agent_desktop.ui.tasks import Op

_REFUSED = "The change was not saved because of an error; nothing was changed."


class CasesPage(QWidget):
    changed = Signal(object)  # frozenset of customer ids whose cases changed (outbox grew)
    case_shown = Signal(str)  # case id, once its detail is painted with data
    open_customer = Signal(str, str)  # customer id, name
    notice = Signal(str)

    def __init__(self, store: Store, who: AgentContext,
                 settings_get: Callable[[str], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self._get = settings_get
        self._details: dict[str, CaseDetailView] = {}
        self.dialog: QDialog | None = None  # the last dialog opened (tests, screenshots)
        self._loaded = False
        self._ticks = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        layout.addWidget(self.tabs)
        self.list = CaseListPane(store, who, str(settings_get("theme")))
        self.list.open_case.connect(self.open_case)
        self.list.notice.connect(self.notice)
        self.tabs.addTab(self.list, "Case list")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close_current,
                  context=Qt.ShortcutContext.WindowShortcut)

    # --- the list ------------------------------------------------------------------------
    def activate(self) -> None:
        """The agent came to Cases (Ctrl+2): the list is read (again) and the caret is in
        the filter box, or in the open case's note box."""
        if not self._loaded:
            self._loaded = True
            self.list.reload()
            self.list.load_counts()
        else:
            self.list.refresh(cases_changed=False)  # due times moved on meanwhile
        if self.tabs.currentIndex() == 0:
            self.list.focus_filter()
        else:
            detail = self.current_detail()
            if detail is not None:
                detail.timeline.setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh(self, cases_changed: bool = True) -> None:
        """Cases changed (or time passed): the list, the counts and every open case are
        read again."""
        if self._loaded:
            self.list.refresh(cases_changed)
        for case_id in list(self._details):
            self._load(case_id)

    def tick(self) -> None:
        """The window's clock (every 30 s): due times come closer; once a minute, what
        the agent looks at is read again."""
        self._ticks += 1
        if self._ticks % 2 == 0 and self.isVisible():
            self.refresh(cases_changed=False)

    def show_list(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.list.focus_filter()

    # --- open cases ------------------------------------------------------------------------
    def open_case(self, case_id: str) -> None:
        view = self._details.get(case_id)
        if view is None:
            view = CaseDetailView()
            view.status_requested.connect(self._ask_status)
            view.escalate_requested.connect(self._ask_escalate)
            view.assign_requested.connect(self._assign)
            view.merge_requested.connect(self._ask_merge)
            view.article_requested.connect(self._ask_article)
            view.draft_requested.connect(self._ask_draft)
            view.follow_up_requested.connect(self._ask_follow_up)
            view.credit_requested.connect(self._ask_credit)
            view.note_requested.connect(self._save_note)
            view.customer_requested.connect(self.open_customer)
            view.case_link_requested.connect(self.open_case)
            self._details[case_id] = view
            index = self.tabs.addTab(view, "Case\u2026")
            self.tabs.setTabToolTip(index, "Ctrl+W closes")
        self._load(case_id)
        self.tabs.setCurrentWidget(view)
        view.timeline.setFocus(Qt.FocusReason.OtherFocusReason)

    def _load(self, case_id: str) -> None:
        view = self._details.get(case_id)
        if view is None:
            return
        store, who = self.store, self.who
        Op(view, lambda: service.load_case_sheet(store, who, case_id)).success(
            lambda sheet: self._show(view, sheet)).failure(
            lambda exc: self._failed_on(view, exc)).run()

    def _show(self, view: CaseDetailView, sheet: CaseSheet) -> None:
        view.show_sheet(sheet)
        index = self.tabs.indexOf(view)
        if index >= 0:
            self.tabs.setTabText(index, sheet.detail.case.case_number)
            self.tabs.setTabToolTip(index, f"{sheet.detail.case.subject} (Ctrl+W closes)")
        self.case_shown.emit(sheet.detail.case.id)

    def current_detail(self) -> CaseDetailView | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, CaseDetailView) else None

    def close_tab(self, index: int) -> None:
        if index == 0:
            return
        view = self.tabs.widget(index)
        for case_id, v in list(self._details.items()):
            if v is view:
                del self._details[case_id]
        self.tabs.removeTab(index)
        if view is not None:
            view.deleteLater()
        if self.tabs.currentIndex() == 0:
            self.list.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def close_current(self) -> None:
        self.close_tab(self.tabs.currentIndex())

    def cycle(self, step: int) -> None:
        if self.tabs.count() > 1:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    # --- writes -----------------------------------------------------------------------------
    def _write(self, fn: Callable[[], CaseChange], *, done: str,
               dialog: ActionDialog | None = None, view: CaseDetailView | None = None,
               then: Callable[[CaseChange], None] | None = None) -> None:
        """Run a change on the writer; refresh what it changed, or show the refusal in the
        dialog (kept open, input kept) or on the case."""

        def saved(change: CaseChange) -> None:
            if dialog is not None:
                dialog.finish()
            self.notice.emit(f"{done} ({change.case_number}).")
            if view is not None:
                view.clear_message()
            self.refresh()
            self.changed.emit(change.changes.customers)
            if then is not None:
                then(change)

        def refused(exc: BaseException) -> None:
            message = str(exc) if isinstance(exc, (UserFacingError, StoreError)) else _REFUSED
            if dialog is not None:
                dialog.failed(message)
            elif view is not None:
                view.show_message(message)
            else:
                self.notice.emit(message)
            if not isinstance(exc, (UserFacingError, StoreError)):
                raise exc

        Op(self, fn, write=True).success(saved).failure(refused).run()

    def _sheet(self, case_id: str) -> tuple[CaseDetailView, CaseSheet] | None:
        view = self._details.get(case_id)
        if view is None or view.sheet is None:
            return None
        return view, view.sheet

    def _open_dialog(self, dialog: QDialog) -> None:
        self.dialog = dialog
        before = QApplication.focusWidget()

        def closed(_result: int) -> None:
            if self.dialog is dialog:
                self.dialog = None
            dialog.deleteLater()
            # Back to where the agent was, keys and all (a window manager would activate
            # the window again; not every platform does).
            self.window().activateWindow()
            try:
                if before is not None and before.isVisible():
                    before.setFocus(Qt.FocusReason.OtherFocusReason)
            except RuntimeError:  # that widget has gone meanwhile (its tab was closed)
                pass

        dialog.finished.connect(closed)
        dialog.open()

    def _ask_status(self, case_id: str, target: str) -> None:
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        dialog = StatusDialog(sheet.detail.case.case_number, target, self)
        store, who = self.store, self.who

        def submit() -> None:
            body, notify = dialog.comment.text().strip(), dialog.notify.isChecked()
            self._write(lambda: service.change_status(store, who, case_id, target, body,
                                                      notify),
                        done="Status changed", dialog=dialog, view=view)

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)

    def _ask_escalate(self, case_id: str) -> None:
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        dialog = EscalateDialog(sheet.detail.case.case_number, sheet.detail.case.priority,
                                self)
        store, who = self.store, self.who

        def submit() -> None:
            priority = str(dialog.priority.currentData())
            reason = dialog.reason.text().strip()
            self._write(lambda: service.set_priority(store, who, case_id, priority, True,
                                                     reason),
                        done="Escalated", dialog=dialog, view=view)

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)

    def _assign(self, case_id: str, how: str) -> None:
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        store, who = self.store, self.who
        if how == "me":
            me = who.agent_id
            self._write(lambda: service.assign(store, who, case_id, me),
                        done="Assigned to you", view=view)
        elif how == "none":
            self._write(lambda: service.assign(store, who, case_id, None),
                        done="Unassigned", view=view)
        else:
            Op(view, lambda: service.assignable_agents(store, case_id)).success(
                lambda choices: self._pick_agent(view, sheet, choices)).failure(
                lambda exc: self._failed_on(view, exc)).run()

    def _pick_agent(self, view: CaseDetailView, sheet: CaseSheet,
                    choices: list[AgentChoice]) -> None:
        case_id = sheet.detail.case.id
        dialog = AssignDialog(sheet.detail.case.case_number, sheet.detail.required_skill,
                              choices, self)
        store, who = self.store, self.who

        def submit() -> None:
            chosen = dialog.chosen()
            if chosen is None:
                dialog.failed("Choose an agent first.")
                return
            agent_id, name = chosen.id, chosen.display_name
            self._write(lambda: service.assign(store, who, case_id, agent_id),
                        done=f"Assigned to {name}", dialog=dialog, view=view)

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)

    def _ask_merge(self, case_id: str) -> None:
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        store = self.store
        Op(view, lambda: service.merge_choices(store, case_id)).success(
            lambda choices: self._pick_merge(view, sheet, choices)).failure(
            lambda exc: self._failed_on(view, exc)).run()

    def _pick_merge(self, view: CaseDetailView, sheet: CaseSheet,
                    choices: list[ViewRow]) -> None:
        case_id = sheet.detail.case.id
        dialog = MergeDialog(sheet.detail.case.case_number, choices, self)
        store, who = self.store, self.who

        def submit() -> None:
            chosen = dialog.chosen()
            if chosen is None:
                dialog.failed("Choose the case that continues.")
                return
            into = chosen.row.id
            self._write(lambda: service.merge(store, who, case_id, into),
                        done="Merged", dialog=dialog, view=view,
                        then=lambda _change: self.open_case(into))

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)

    def _ask_article(self, case_id: str) -> None:
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        dialog = LinkArticleDialog(sheet.detail.case.case_number, self)
        store, who = self.store, self.who

        def submit() -> None:
            code = dialog.code.text()
            self._write(lambda: service.link_article_by_code(store, who, case_id, code),
                        done="Article linked", dialog=dialog, view=view)

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)

    def link_article(self, case_id: str, article_id: str) -> None:
        """Ctrl+L in Knowledge: link the article to the case the agent came from."""
        store, who = self.store, self.who
        self._write(lambda: service.link_article(store, who, case_id, article_id),
                    done="Article linked to the case")

    def _ask_draft(self, case_id: str) -> None:
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        number = sheet.detail.case.case_number
        title, body = service.case_article_draft(sheet.detail)
        dialog = DraftArticleDialog(number, title, body, sheet.detail.category, self)
        store, who = self.store, self.who

        def draft() -> CaseChange:
            service.draft_from_case(store, who, case_id, dialog.title.text(),
                                    dialog.body.toPlainText(), dialog.product.text(),
                                    dialog.tag_list())
            return CaseChange(case_id, number, Changes(cases=True))

        dialog.submitted.connect(lambda: self._write(
            draft, done="Draft article saved; a supervisor publishes it", dialog=dialog,
            view=view))
        self._open_dialog(dialog)

    def _save_note(self, case_id: str, body: str, visibility: str, seconds: int) -> None:
        view = self._details.get(case_id)
        if view is None:
            return
        store, who = self.store, self.who

        def saved(change: CaseChange) -> None:
            view.note_saved()
            self.notice.emit(f"Note saved on {change.case_number}.")
            self.refresh()
            self.changed.emit(change.changes.customers)

        def refused(exc: BaseException) -> None:
            if isinstance(exc, (UserFacingError, StoreError)):
                view.note_failed(str(exc))
                return
            view.note_failed("The note was not saved because of an error; your text is kept.")
            raise exc

        Op(view, lambda: service.add_case_note(store, who, case_id, body, visibility, seconds),
           write=True).success(saved).failure(refused).run()

    # --- a new case from the 360 --------------------------------------------------------------
    def new_case(self, customer: Customer360,
                 opened: Callable[[str], None] | None = None) -> NewCaseDialog:
        """The new-case dialog for the customer on screen; the saved case opens here."""
        dialog = NewCaseDialog(customer.display_name, customer.services, self.window())
        store, who, customer_id = self.store, self.who, customer.customer_id

        def submit() -> None:
            args = (dialog.case_type(), dialog.priority_code(), dialog.subject_text(),
                    dialog.description_text(), dialog.category_group(), dialog.product_sku())

            def made(change: CaseChange) -> None:
                if not self._loaded:
                    self._loaded = True
                    self.list.load_counts()
                self.open_case(change.case_id)
                if opened is not None:
                    opened(change.case_id)

            self._write(lambda: service.create_case(store, who, customer_id, *args),
                        done="Case opened", dialog=dialog, then=made)

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)
        return dialog

    def _ask_credit(self, case_id: str) -> None:
        """A dispute the customer is right about: a credit on the line (maker-checker)."""
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        dialog = CreditDialog(self.store, self.who, case_id, sheet.detail.case.case_number,
                              self.window())

        def resolved(result: DisputeResolved) -> None:
            self.notice.emit(result.words)
            view.clear_message()
            self.refresh()
            self.changed.emit(result.case.changes.customers)

        dialog.resolved.connect(resolved)
        self._open_dialog(dialog)

    def _ask_follow_up(self, case_id: str) -> None:
        """A child case for the same customer, starting from this case's type, category
        and product; the customer's products come from their 360 (off the UI thread)."""
        found = self._sheet(case_id)
        if found is None:
            return
        view, sheet = found
        head = sheet.detail.case
        if head.customer_id is None:
            view.show_message("This case has no customer: open a new case from the "
                              "customer's 360 instead (Ctrl+Shift+N).")
            return
        store, customer_id = self.store, head.customer_id
        Op(view, lambda: load_360(store, customer_id)).success(
            lambda customer: self._follow_up(sheet, customer)).failure(
            lambda exc: self._failed_on(view, exc)).run()

    def _follow_up(self, sheet: CaseSheet, customer: Customer360) -> None:
        detail = sheet.detail
        dialog = NewCaseDialog(customer.display_name, customer.services, self.window())
        dialog.follow_up(detail.case.case_number, detail.case.type, detail.category,
                         detail.product_sku, detail.case.subject)
        store, who, customer_id = self.store, self.who, customer.customer_id
        parent_id = detail.case.id

        def submit() -> None:
            args = (dialog.case_type(), dialog.priority_code(), dialog.subject_text(),
                    dialog.description_text(), dialog.category_group(), dialog.product_sku())
            self._write(lambda: service.create_case(store, who, customer_id, *args,
                                                    parent_case_id=parent_id),
                        done="Follow-up case opened", dialog=dialog,
                        then=lambda change: self.open_case(change.case_id))

        dialog.submitted.connect(submit)
        self._open_dialog(dialog)

    # --- odds and ends ------------------------------------------------------------------------
    def _failed_on(self, view: CaseDetailView, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            view.show_message(str(exc))
            return
        raise exc

    def focus_note(self) -> bool:
        detail = self.current_detail()
        if detail is None:
            return False
        detail.focus_note()
        return True

    def set_theme(self, theme_name: str) -> None:
        self.list.set_theme(theme_name)

    def shut_down(self) -> None:
        self.list.shut_down()
