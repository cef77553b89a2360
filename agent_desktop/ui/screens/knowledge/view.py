"""The Knowledge area: search the articles as you type, read one, say whether it helped.

Keyboard: Ctrl+3 lands in the search box; Down/Up move through the results while the caret
stays in the box; Enter opens the selected article in the reader (focus goes to it, so
arrows and Page Down scroll it); Esc goes back to the results. Alt+P and Alt+T reach the
product and tag filters; Ctrl+Up / Ctrl+Down vote the open article helpful / not helpful.

With the box empty and a customer open, the list shows articles suggested for that
customer (from their open cases and products). Every search and read runs off the UI
thread; a search answers only the newest text (``LatestOnly``).
"""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QKeySequence, QPainter, QShortcut, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.services.context import AgentContext
from agent_desktop.services.customer360 import Customer360
from agent_desktop.services.knowledge import (
    ArticleHit,
    ArticleRow,
    CallContext,
    KnowledgeBase,
    KnowledgeResult,
    Suggestions,
    VoteResult,
    call_context,
    vote,
)
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.tasks import LatestOnly, Op
from agent_desktop.ui.widgets.common import muted

_Index = QModelIndex | QPersistentModelIndex
_PRODUCTS = {"tv": "TV", "phone": "Home Phone", "security": "Home Security"}
ALL = ""  # the filters' "any" choice
# Like the customer search box (theme's #globalSearch), without its 420 px minimum width.
_BOX_STYLE = ("QLineEdit#knowledgeSearch { border: 1px solid palette(mid); border-radius: 6px;"
              " padding: 6px 10px; background: palette(base); }"
              " QLineEdit#knowledgeSearch:focus { border: 2px solid palette(highlight);"
              " padding: 5px 9px; }")


def product_label(code: str) -> str:
    return _PRODUCTS.get(code, code.replace("_", " ").title())


def _date(iso: str) -> str:
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d:%b %Y}"


def _marked(segments: tuple[tuple[str, bool], ...], mark: str, ink: str) -> str:
    # The marked word keeps its own ink, readable on the mark in a selected row too.
    return "".join(
        f'<span style="background:{mark}; color:{ink}">{html.escape(piece)}</span>' if hit
        else html.escape(piece)
        for piece, hit in segments)


# --- the results list -------------------------------------------------------------------
class ResultsModel(QAbstractListModel):
    """Article hits as rows; the delegate draws each as title, facts and snippet."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hits: list[ArticleHit] = []

    def set_hits(self, hits: tuple[ArticleHit, ...]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        hit = self.hits[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{hit.title}. {hit.snippet}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{hit.code} \u00b7 Enter opens it"
        return None


class ResultDelegate(QStyledItemDelegate):
    """Title with the matched words marked, the article's facts, a two-line snippet."""

    def _document(self, hit: ArticleHit, width: int, selected: bool) -> QTextDocument:
        pal = QApplication.palette()
        dark = pal.base().color().lightness() < 128
        mark, ink = ("#6b5410", "#fff3d6") if dark else ("#ffe58a", "#1d2330")
        text = pal.highlightedText().color().name() if selected else pal.text().color().name()
        soft = text if selected else pal.placeholderText().color().name()
        facts = " \u00b7 ".join(p for p in (
            hit.code, product_label(hit.product), ", ".join(hit.tags[:3]),
            _date(hit.updated) if hit.updated else "") if p)
        doc = QTextDocument()
        doc.setDefaultFont(QApplication.font())
        doc.setDocumentMargin(8)
        doc.setHtml(
            f'<div style="color:{text}"><b>{_marked(hit.title_segments, mark, ink)}</b></div>'
            f'<div style="color:{soft}">{html.escape(facts)}</div>'
            f'<div style="color:{text}">{_marked(hit.snippet_segments, mark, ink)}</div>')
        doc.setTextWidth(max(width, 120))
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        model = index.model()
        assert isinstance(model, ResultsModel)
        hit = model.hits[index.row()]
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        doc = self._document(hit, opt.rect.width(), selected)
        painter.save()
        painter.translate(opt.rect.topLeft())
        painter.setClipRect(QRectF(0, 0, opt.rect.width(), opt.rect.height()))
        doc.drawContents(painter)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        model = index.model()
        assert isinstance(model, ResultsModel)
        width = option.rect.width()
        if width <= 0 and option.widget is not None:
            width = option.widget.width() - 24
        doc = self._document(model.hits[index.row()], width, False)
        return QSize(width, int(doc.size().height()) + 2)


class ResultsList(QListView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = ResultsModel(self)
        self.setModel(self.results)
        self.setItemDelegate(ResultDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setAccessibleName("Articles")

    def selected_row(self) -> int:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def select_row(self, row: int) -> None:
        count = self.results.rowCount()
        if not count:
            return
        row = max(0, min(count - 1, row))
        index = self.results.index(row)
        self.setCurrentIndex(index)
        self.scrollTo(index)

    def selected_hit(self) -> ArticleHit | None:
        row = self.selected_row()
        return self.results.hits[row] if row >= 0 else None


# --- the reader -------------------------------------------------------------------------
class ArticleReader(QWidget):
    """One article: title, facts, helpful counts with the vote buttons, the Markdown."""

    vote_requested = Signal(str, bool)  # (article id, helpful)
    back_requested = Signal()
    link_requested = Signal(str)  # article id: link it to the case the agent works on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.article: ArticleRow | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)
        # Not the shared EmptyState: its fixed 560 px text would set this pane's minimum.
        self.empty = QWidget()
        empty = QVBoxLayout(self.empty)
        empty.addStretch(1)
        empty_title = QLabel("Choose an article")
        empty_title.setObjectName("emptyTitle")
        empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.addWidget(empty_title)
        empty_body = muted("Type in the search box; \u2191 and \u2193 choose an article and "
                           "Enter opens it here. Esc comes back to the results.")
        empty_body.setWordWrap(True)
        empty_body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_body.setMinimumWidth(200)
        empty.addWidget(empty_body)
        empty.addStretch(2)
        self.stack.addWidget(self.empty)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)
        self.title = QLabel("")
        self.title.setObjectName("customerName")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        self.facts = muted("")
        self.facts.setWordWrap(True)
        layout.addWidget(self.facts)
        votes = QHBoxLayout()
        votes.setSpacing(8)
        self.counts = QLabel("")
        self.counts.setAccessibleName("Helpful votes")
        self.counts.setWordWrap(True)
        votes.addWidget(self.counts, 1)
        self.helpful = QPushButton("Helpful  (Ctrl+\u2191)")
        self.helpful.setCheckable(True)
        self.helpful.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.helpful.clicked.connect(lambda: self._vote(True))
        self.not_helpful = QPushButton("Not helpful  (Ctrl+\u2193)")
        self.not_helpful.setCheckable(True)
        self.not_helpful.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.not_helpful.clicked.connect(lambda: self._vote(False))
        votes.addWidget(self.helpful)
        votes.addWidget(self.not_helpful)
        layout.addLayout(votes)
        self.link = QPushButton("")
        self.link.setObjectName("linkToCase")
        self.link.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.link.clicked.connect(self.request_link)
        self.link.hide()
        link_row = QHBoxLayout()
        link_row.addWidget(self.link)
        link_row.addStretch(1)
        layout.addLayout(link_row)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setObjectName("muted")
        layout.addWidget(line)
        self.body = QTextBrowser()
        self.body.setOpenLinks(False)
        self.body.setAccessibleName("Article text")
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.installEventFilter(self)
        layout.addWidget(self.body, 1)
        self.stack.addWidget(page)

    def show_article(self, row: ArticleRow) -> None:
        same = self.article is not None and self.article.id == row.id
        self.article = row
        self.title.setText(row.title)
        tags = ", ".join(row.tags)
        self.facts.setText(" \u00b7 ".join(p for p in (
            row.code, product_label(row.product), tags, f"version {row.article_version}",
            f"updated {row.updated.day} {row.updated:%b %Y}") if p))
        self.show_counts(row)
        if not same:
            self.body.setMarkdown(row.body_md)
            self.body.verticalScrollBar().setValue(0)
        self.stack.setCurrentIndex(1)

    def show_counts(self, row: ArticleRow) -> None:
        people = lambda n: f"{n} agent{'s' if n != 1 else ''}"  # noqa: E731
        text = (f"Helpful for {people(row.helpful)} \u00b7 "
                f"not helpful for {people(row.not_helpful)}")
        if row.my_vote is not None:
            text += f" \u00b7 your vote: {'helpful' if row.my_vote else 'not helpful'}"
        self.counts.setText(text)
        self.helpful.setChecked(row.my_vote is True)
        self.not_helpful.setChecked(row.my_vote is False)

    def _vote(self, helpful: bool) -> None:
        if self.article is None:
            return
        # The buttons show the vote on record, not the click, until the answer comes.
        self.helpful.setChecked(self.article.my_vote is True)
        self.not_helpful.setChecked(self.article.my_vote is False)
        self.vote_requested.emit(self.article.id, helpful)

    def vote(self, helpful: bool) -> None:
        self._vote(helpful)

    def set_case_target(self, case_number: str | None) -> None:
        """Offer "Link to case ..." (Ctrl+L) while the agent works on that case."""
        if case_number is None:
            self.link.hide()
            return
        self.link.setText(f"Link to case {case_number}  (Ctrl+L)")
        self.link.show()

    def request_link(self) -> None:
        if self.article is not None and self.link.isVisible():
            self.link_requested.emit(self.article.id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.body and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.back_requested.emit()
                return True
        return False


# --- the screen --------------------------------------------------------------------------
class KnowledgeScreen(QWidget):
    """The Knowledge area of the main window."""

    searched = Signal(object)  # KnowledgeResult shown
    suggested = Signal(object)  # Suggestions shown
    article_shown = Signal(object)  # ArticleRow shown in the reader
    voted = Signal(object)  # VoteResult
    notice = Signal(str)  # a calm message for the status bar
    link_requested = Signal(str, str)  # (case id, article id): Ctrl+L
    vote_queued = Signal()  # a local change waits in the outbox
    filters_ready = Signal()  # the product and tag lists are filled

    def __init__(self, store: Store, who: AgentContext, delay_ms: int = 120,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.who = who
        self.base = KnowledgeBase(store)
        self.context: CallContext | None = None
        self.case_target: tuple[str, str] | None = None  # (case id, case number)
        self.suggestions: Suggestions | None = None
        self.result: KnowledgeResult | None = None
        self._filters_loaded = False
        self._closed = False
        self._asked = self._answered = 0  # request numbers: the newest sent and answered
        self._open_on_answer = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.box = QLineEdit()
        self.box.setObjectName("knowledgeSearch")
        self.box.setMinimumWidth(180)
        self.box.setStyleSheet(_BOX_STYLE)
        self.box.setPlaceholderText(
            "Search the articles: a few words or an article code; typos are fine   (Ctrl+3)")
        self.box.setAccessibleName("Knowledge search")
        self.box.setClearButtonEnabled(True)
        top.addWidget(self.box, 1)
        self.product = QComboBox()
        self.product.setAccessibleName("Product filter")
        self.product.addItem("All products", ALL)
        self.product.setMinimumContentsLength(9)
        self.product.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        product_label_ = QLabel("  &Product")
        product_label_.setBuddy(self.product)
        top.addWidget(product_label_)
        top.addWidget(self.product)
        self.tag = QComboBox()
        self.tag.setAccessibleName("Tag filter")
        self.tag.addItem("All tags", ALL)
        self.tag.setMinimumContentsLength(10)
        self.tag.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.tag.setMaxVisibleItems(20)
        tag_label = QLabel("  &Tag")
        tag_label.setBuddy(self.tag)
        top.addWidget(tag_label)
        top.addWidget(self.tag)
        layout.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(4)
        self.heading = QLabel("")
        self.heading.setObjectName("sectionTitle")
        self.heading.setWordWrap(True)
        left_layout.addWidget(self.heading)
        self.hint = muted("")
        self.hint.setWordWrap(True)
        left_layout.addWidget(self.hint)
        self.list = ResultsList()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the caret stays in the box
        self.list.clicked.connect(lambda _i: self.open_selected())
        left_layout.addWidget(self.list, 1)
        split.addWidget(left)
        self.reader = ArticleReader()
        self.reader.vote_requested.connect(self._vote)
        self.reader.back_requested.connect(self.back_to_results)
        self.reader.link_requested.connect(self._link)
        split.addWidget(self.reader)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([600, 700])
        layout.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setObjectName("knowledgeSearchDelay")
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.search_now)
        base = self.base
        self._searches = LatestOnly(self, lambda: base,
                                    lambda kb, req: kb.search(*req))
        self._searches.answered.connect(self._on_result)
        self._searches.failed.connect(self._on_failure)
        self._suggests = LatestOnly(self, lambda: base,
                                    lambda kb, ctx: (ctx, kb.suggest(ctx.text, ctx.skus)))
        self._suggests.answered.connect(self._on_suggestions)
        self._suggests.failed.connect(self._suggestions_failed)
        self.box.textEdited.connect(self._on_edit)
        self.box.returnPressed.connect(self.open_selected)
        self.box.installEventFilter(self)
        self.product.currentIndexChanged.connect(lambda _i: self.search_now())
        self.tag.currentIndexChanged.connect(lambda _i: self.search_now())

        def key(keys: str, slot: object) -> None:
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

        key("Ctrl+Up", lambda: self.reader.vote(True))
        key("Ctrl+Down", lambda: self.reader.vote(False))
        key("Ctrl+L", self.link_to_case)
        self._show_idle()

    # --- entering the area -------------------------------------------------------------
    def activate(self, customer: Customer360 | None) -> None:
        """The agent came to Knowledge (Ctrl+3): focus the box, bring the index and the
        filters up to date, suggest articles for the open customer."""
        self.box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.box.selectAll()
        base = self.base
        Op(self, base.refresh).success(self._index_refreshed).failure(self._on_error).run()
        context = call_context(customer) if customer is not None else None
        if context != self.context:
            self.context = context
            self.suggestions = None
            if context is not None:
                self._suggests.request(context)
        if not self.box.text().strip():
            self._show_idle()

    def set_case_target(self, case_id: str | None, case_number: str = "") -> None:
        """The case the agent came from (its tab was open on the Cases area): Ctrl+L
        links the article in the reader, or the chosen result, to it."""
        self.case_target = (case_id, case_number) if case_id else None
        self.reader.set_case_target(case_number if case_id else None)

    def link_to_case(self) -> None:
        if self.case_target is None:
            self.notice.emit("Open a case first (Ctrl+2): Ctrl+L links an article to the "
                             "case you came from.")
            return
        article = self.reader.article
        if self.box.hasFocus() or article is None:
            hit = self.list.selected_hit()
            article_id = hit.article_id if hit is not None else None
        else:
            article_id = article.id
        if article_id is None:
            self.notice.emit("Choose an article to link first.")
            return
        self._link(article_id)

    def _link(self, article_id: str) -> None:
        if self.case_target is not None:
            self.link_requested.emit(self.case_target[0], article_id)

    def articles_changed(self) -> None:
        """Articles in the store changed (a pull, a published draft): bring the index up
        to date, then search again what is on screen."""
        def done(changed: int) -> None:
            self._index_refreshed(changed)
            if changed and self.result is not None:
                self.search_now()

        Op(self, self.base.refresh).success(done).failure(self._on_error).run()

    def _index_refreshed(self, changed: int) -> None:
        if changed or not self._filters_loaded:
            Op(self, self.base.filters).success(self._set_filters).failure(
                self._on_error).run()

    def _set_filters(self, choices: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        products, tags = choices
        self._filters_loaded = True
        for combo, values, label in ((self.product, products, product_label),
                                     (self.tag, tags, str)):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("All products" if combo is self.product else "All tags", ALL)
            for value in values:
                combo.addItem(label(value), value)
            at = combo.findData(current)
            combo.setCurrentIndex(max(at, 0))
            combo.blockSignals(False)
        self.filters_ready.emit()

    # --- searching ---------------------------------------------------------------------
    def filters(self) -> tuple[str | None, str | None]:
        return (str(self.product.currentData() or "") or None,
                str(self.tag.currentData() or "") or None)

    def _on_edit(self, text: str) -> None:
        self._open_on_answer = False
        if not text.strip() and self.filters() == (None, None):
            self._timer.stop()
            self._asked = self._searches.request(("", None, None))  # supersedes the rest
            self.result = None
            self._show_idle()
            return
        self._timer.start()

    def search_now(self) -> None:
        self._timer.stop()
        product, tag = self.filters()
        if not self.box.text().strip() and product is None and tag is None:
            self.result = None
            self._show_idle()
            return
        self._asked = self._searches.request((self.box.text(), product, tag))

    def _on_result(self, number: int, result: KnowledgeResult) -> None:
        self._answered = number
        if not self.box.text().strip() and not (result.product or result.tag):
            return  # the box was emptied meanwhile: the suggestions stay
        self.result = result
        count = len(result.hits)
        where = [product_label(result.product)] if result.product else []
        if result.tag:
            where.append(f"tag \u201c{result.tag}\u201d")
        scope = f" in {', '.join(where)}" if where else ""
        if not result.searched or not count:
            self.heading.setText("No articles" + scope if result.searched else "Search")
        elif result.text:
            self.heading.setText(
                f"{count}{'+' if count >= self.base.limit else ''} article"
                f"{'s' if count != 1 else ''} for \u201c{result.text}\u201d{scope}")
        else:
            self.heading.setText(f"Articles{scope}")
        hint = result.hint
        if count and not hint:
            hint = "\u2191\u2193 to choose, Enter to read, Esc back here"
        self._set_hint(hint)
        self.list.results.set_hits(result.hits)
        if count:
            self.list.select_row(0)
        self.searched.emit(result)
        if self._open_on_answer:
            self._open_on_answer = False
            self.open_selected()

    def _set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def _on_failure(self, number: int, exc: BaseException) -> None:
        self._answered = number
        self._open_on_answer = False
        self.list.results.set_hits(())
        self._set_hint(f"Search failed: {exc}. Try again; if it keeps failing, restart "
                       "Agent Desktop.")

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, (UserFacingError, StoreError)):
            self.notice.emit(str(exc))
            return
        raise exc

    # --- suggestions -------------------------------------------------------------------
    def _on_suggestions(self, _number: int, answer: tuple[CallContext, Suggestions]) -> None:
        context, suggestions = answer
        if context != self.context:
            return
        self.suggestions = suggestions
        if not self.box.text().strip() and self.filters() == (None, None):
            self._show_idle()
        self.suggested.emit(suggestions)

    def _suggestions_failed(self, _number: int, exc: BaseException) -> None:
        self.suggestions = Suggestions((), (), ())
        if not self.box.text().strip():
            self._show_idle()
        self._on_error(exc)

    def _show_idle(self) -> None:
        """The box is empty: suggestions for the open customer, or how to start."""
        context, suggestions = self.context, self.suggestions
        if context is None:
            self.heading.setText("Search the knowledge base")
            self._set_hint("Type a few words about the caller's problem, for example "
                           "\u201cmodem reboot\u201d or \u201clate fee\u201d. Open a customer "
                           "first to see articles suggested for them.")
            self.list.results.set_hits(())
            return
        self.heading.setText(f"Suggested for {context.customer_name}")
        if suggestions is None:
            self._set_hint("Finding articles for this customer\u2026")
            self.list.results.set_hits(())
            return
        if not suggestions.hits:
            self._set_hint("Nothing to suggest from this customer's cases and products. "
                           "Type a few words to search.")
        else:
            because = f"From {context.because}. " if context.because else ""
            self._set_hint(f"{because}\u2191\u2193 to choose, Enter to read, or type to "
                           "search.")
        self.list.results.set_hits(suggestions.hits)
        if suggestions.hits:
            self.list.select_row(0)

    # --- reading -----------------------------------------------------------------------
    def open_selected(self) -> None:
        if self.box.text().strip() and (self._timer.isActive() or self._asked != self._answered):
            # Enter came before the answer for what is typed: open it when it comes.
            self._open_on_answer = True
            if self._timer.isActive():
                self.search_now()
            return
        hit = self.list.selected_hit()
        if hit is None:
            return
        self.open_article(hit.article_id)

    def open_article(self, article_id: str) -> None:
        base, who = self.base, self.who
        Op(self, lambda: base.article(article_id, who)).success(self._show_article).failure(
            self._on_error).run()

    def _show_article(self, row: ArticleRow) -> None:
        self.reader.show_article(row)
        self.reader.body.setFocus(Qt.FocusReason.OtherFocusReason)
        self.article_shown.emit(row)

    def back_to_results(self) -> None:
        self.box.setFocus(Qt.FocusReason.OtherFocusReason)

    def _vote(self, article_id: str, helpful: bool) -> None:
        store, who = self.store, self.who
        Op(self, lambda: vote(store, who, article_id, helpful), write=True).success(
            self._voted).failure(self._on_error).run()

    def _voted(self, result: VoteResult) -> None:
        if self.reader.article is not None and self.reader.article.id == result.article.id:
            self.reader.show_article(result.article)
        self.notice.emit("Thanks: your vote is saved and goes to every desk with the next "
                         "sync.")
        self.voted.emit(result)
        self.vote_queued.emit()

    # --- keys --------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.box and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                return False
            steps = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 5,
                     Qt.Key.Key_PageUp: -5}
            if key in steps:
                self.list.select_row(self.list.selected_row() + steps[Qt.Key(key)])
                return True
            if key == Qt.Key.Key_Escape and self.box.text():
                self.box.clear()
                self._on_edit("")
                return True
        return False

    def shut_down(self) -> None:
        """The window is closing: stop searching and let go of the index."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._searches.close()
        self._suggests.close()
        self.base.close()
