"""The offer strip on the 360: the best offer for the customer, in one line to read
aloud, with why it ranks; or, when there is none, why (an open outage case, collections).

It is a prompt at a natural moment, never a pop-up: it never takes the focus, and the
agent answers by keys while the 360 has the focus: Alt+Y the customer accepts (recorded,
and the order wizard starts with the offer in its cart, through ``accepted``), Alt+X not
now, Alt+Z declined (both recorded; the next offer, if any, takes its place). The moment
("360", "after_card_update"...) says which offers may show and how the pitch opens; it
goes back to "360" once the customer has answered.

Reading and recording run off the UI thread (ui.tasks.Op); only the newest reading is
shown.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from agent_desktop.domain.errors import UserFacingError
from agent_desktop.domain.offers import Offer, Response
from agent_desktop.services.context import AgentContext
from agent_desktop.services.offers import OfferRecorded, OffersFor, offers_for, record_offer
from agent_desktop.storage.store import Store, StoreError
from agent_desktop.ui.tasks import Op
from agent_desktop.ui.widgets.common import badge, muted

# The keys, and what each answer is called on the strip.
KEYS: dict[Response, str] = {
    Response.ACCEPTED: "Alt+Y",
    Response.NOT_NOW: "Alt+X",
    Response.DECLINED: "Alt+Z",
}
_WORDS = {Response.ACCEPTED: "Accept", Response.NOT_NOW: "Not now",
          Response.DECLINED: "Declined"}
_KIND_WORDS = {"up_sell": "Up-sell", "cross_sell": "Cross-sell", "bundle": "Bundle"}
_DONE = {Response.NOT_NOW: "Recorded: not now", Response.DECLINED: "Recorded: declined"}


class OfferStrip(QFrame):
    """One offer at a time for the customer of the 360 it sits in."""

    accepted = Signal(str, object)  # (customer_id, Offer): start the order with its cart
    recorded = Signal(str)  # the answer, once saved: a change waits in the outbox

    def __init__(self, keys_on: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Offer")
        self.store: Store | None = None
        self.who: AgentContext | None = None
        self.customer_id: str | None = None
        self.moment = "360"
        self.result: OffersFor | None = None
        self.today: date | None = None  # None: today (tests pin a day)
        self._request = 0
        self._busy = False

        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        row.setSpacing(10)
        self.kind = badge("Offer", "info", "What kind of offer this is")
        row.addWidget(self.kind, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.pitch = QLabel()
        self.pitch.setWordWrap(True)
        self.pitch.setAccessibleName("Offer to read aloud")
        font = self.pitch.font()
        font.setBold(True)
        self.pitch.setFont(font)
        self.why = muted("")
        self.why.setWordWrap(True)
        self.why.setAccessibleName("Why this offer")
        text.addWidget(self.pitch)
        text.addWidget(self.why)
        row.addLayout(text, 1)
        self.status = muted("")
        row.addWidget(self.status, 0, Qt.AlignmentFlag.AlignVCenter)
        self.buttons: dict[Response, QPushButton] = {}
        for response, keys in KEYS.items():
            button = QPushButton(f"{_WORDS[response]}  {keys}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a click never moves the caret
            button.setToolTip(f"The customer's answer: {_WORDS[response].lower()} ({keys})")
            button.clicked.connect(lambda _c=False, r=response: self.respond(r))
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.buttons[response] = button
            QShortcut(QKeySequence(keys), keys_on, lambda r=response: self.respond(r),
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.buttons[Response.ACCEPTED].setObjectName("primary")
        self.hide()

    # --- reading ------------------------------------------------------------------------
    def attach(self, store: Store, who: AgentContext) -> None:
        """Where offers are read from and who records the answers."""
        self.store, self.who = store, who

    def show_for(self, customer_id: str) -> None:
        """The 360 shows this customer (again): read the offers for the current moment."""
        if customer_id != self.customer_id:
            self.moment = "360"
            self.status.setText("")
        self.load(customer_id, self.moment)

    def load(self, customer_id: str, moment: str) -> None:
        """Read the offers for ``moment`` (a natural moment: "after_card_update"...)."""
        if self.store is None:
            return
        self.customer_id, self.moment = customer_id, moment
        self._request += 1
        number = self._request
        store, today = self.store, self.today
        Op(self, lambda: offers_for(store, customer_id, moment, today=today)).success(
            lambda result: self._loaded(number, result)).failure(self._read_failed).run()

    def _loaded(self, number: int, result: OffersFor) -> None:
        if number != self._request or result.customer_id != self.customer_id:
            return  # a newer reading is on its way
        previous = self.offer
        if previous is not None and result.top is not None and \
                previous.code == result.top.code and self.result is not None:
            # The same offer still on screen: it was shown when it first appeared.
            result = OffersFor(result.customer_id, result.moment, result.offers,
                               result.reason, self.result.shown_at)
        self.result = result
        self._paint()

    def _read_failed(self, exc: BaseException) -> None:
        self.result = None
        self._paint(str(exc) if isinstance(exc, (UserFacingError, StoreError))
                    else "Offers could not be read.")
        if not isinstance(exc, (UserFacingError, StoreError)):
            raise exc

    @property
    def offer(self) -> Offer | None:
        """The offer on screen, if any."""
        if self.result is None or self.result.customer_id != self.customer_id:
            return None
        return self.result.top

    def _paint(self, message: str | None = None) -> None:
        offer = self.offer
        if offer is not None:
            self.kind.setText(_KIND_WORDS.get(offer.kind, "Offer"))
            self.kind.show()
            self.pitch.setText(offer.pitch)
            self.why.setText(offer.why)
            self.why.show()
        else:
            self.kind.hide()
            reason = message or (self.result.reason if self.result is not None else None)
            self.pitch.setText(reason or "No offer for this customer now.")
            self.why.hide()
        self.pitch.setAccessibleDescription(self.pitch.text())
        for button in self.buttons.values():
            button.setVisible(offer is not None)
            button.setEnabled(not self._busy)
        self.show()

    # --- answering ----------------------------------------------------------------------
    def respond(self, response: str) -> None:
        """Record the customer's answer to the offer on screen (Alt+Y / Alt+X / Alt+Z)."""
        offer, result = self.offer, self.result
        store, who, customer_id = self.store, self.who, self.customer_id
        if offer is None or result is None or store is None or who is None \
                or customer_id is None or self._busy:
            return
        answer = Response(response)
        self._busy = True
        self._paint()
        self.status.setText("Recording\u2026")
        shown_at = result.shown_at
        Op(self, lambda: record_offer(store, who, customer_id, offer, answer.value,
                                      shown_at=shown_at), write=True).success(
            lambda done: self._recorded(customer_id, offer, done)).failure(
            self._record_failed).run()

    def _recorded(self, customer_id: str, offer: Offer, done: OfferRecorded) -> None:
        self._busy = False
        answer = done.response
        self.recorded.emit(answer.value if answer is not None else "")
        self.moment = "360"
        if answer == Response.ACCEPTED:
            self.result = None
            self.status.setText("")
            self._paint(f"Accepted: {offer.name}. The order opens with it in the cart.")
            self.accepted.emit(customer_id, offer)
            return
        self.status.setText(_DONE.get(answer, "Recorded") if answer is not None else "")
        if customer_id == self.customer_id:
            self.load(customer_id, "360")  # the next offer, or why there is none

    def _record_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.status.setText(str(exc) if isinstance(exc, (UserFacingError, StoreError))
                            else "The answer was not recorded because of an error.")
        self._paint()
        if not isinstance(exc, (UserFacingError, StoreError)):
            raise exc
