"""Staffing what-if: Erlang C from a forecast to agents needed, checked as the supervisor types.

One interval at the top (the published worked example reproduces: 100 calls per 30 min,
AHT 180 s, 80% in 20 s, occupancy at most 85%, shrinkage 30% -> 14 agents on the phones,
20 scheduled, SL 88.8%, occupancy 71.4%, P(wait) 17.4%); below, a day's forecast pasted as
one number of calls per interval gives a table of the agents each interval needs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent_desktop.services import metrics
from agent_desktop.ui.widgets.common import Column, RowsModel, make_table, muted

MAX_ERLANGS = 5000.0


@dataclass(frozen=True, slots=True)
class StaffingInput:
    calls: float
    interval_s: float
    aht_s: float
    target_sl: float
    target_s: float
    max_occupancy: float
    shrinkage: float


@dataclass(frozen=True, slots=True)
class StaffingAnswer:
    traffic: float
    agents: int
    scheduled: int
    service_level: float
    asa_s: float
    occupancy: float
    p_wait: float


def solve(inp: StaffingInput, calls: float | None = None) -> StaffingAnswer:
    c = inp.calls if calls is None else calls
    st = metrics.agents_needed(c, inp.interval_s, inp.aht_s, inp.target_sl, inp.target_s,
                               inp.max_occupancy, inp.shrinkage)
    traffic = c * inp.aht_s / inp.interval_s
    p_wait = metrics.erlang_c(traffic, st.agents) if st.agents else 0.0
    return StaffingAnswer(traffic, st.agents, st.scheduled, st.service_level, st.asa_s,
                          st.occupancy, p_wait)


_FIELDS = (
    # key, label, default, unit, (min, max, inclusive-min), words
    ("calls", "&Calls per interval", "100", "calls", (0.0, 1_000_000.0, True),
     "Forecast calls per interval"),
    ("interval", "&Interval", "30", "minutes", (1.0, 1440.0, True), "Interval length"),
    ("aht", "A&HT", "180", "seconds", (1.0, 36_000.0, True), "Average handle time"),
    ("sl", "Service level &target", "80", "%", (1.0, 99.9, True), "Service level target"),
    ("within", "Answered &within", "20", "seconds", (0.0, 3600.0, True), "Answer time"),
    ("occupancy", "Max &occupancy", "85", "%", (1.0, 100.0, True), "Max occupancy"),
    ("shrinkage", "Shrin&kage", "30", "%", (0.0, 95.0, True), "Shrinkage"),
)


def parse_inputs(texts: dict[str, str]) -> tuple[StaffingInput | None, dict[str, str]]:
    """The typed fields -> an input, or a specific message per field in error."""
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for key, _label, _default, unit, (lo, hi, _inc), words in _FIELDS:
        raw = texts.get(key, "").strip().replace(",", "").rstrip("%").strip()
        if not raw:
            errors[key] = f"{words} is needed."
            continue
        try:
            v = float(raw)
        except ValueError:
            errors[key] = f"{words} must be a number of {unit}, like {_default_of(key)}."
            continue
        if not math.isfinite(v):
            errors[key] = f"{words} must be a number of {unit}."
        elif v < lo or v > hi:
            errors[key] = (f"{words} must be between {lo:g} and {hi:g} {unit}"
                           + (" (it cannot be negative)." if v < 0 else "."))
        else:
            values[key] = v
    if errors:
        return None, errors
    inp = StaffingInput(
        calls=values["calls"], interval_s=values["interval"] * 60, aht_s=values["aht"],
        target_sl=values["sl"] / 100, target_s=values["within"],
        max_occupancy=values["occupancy"] / 100, shrinkage=values["shrinkage"] / 100)
    traffic = inp.calls * inp.aht_s / inp.interval_s
    if traffic > MAX_ERLANGS:
        errors["calls"] = (f"That is {traffic:,.0f} Erlangs of traffic, more than this "
                           f"what-if handles ({MAX_ERLANGS:,.0f}): split it into queues or "
                           "shorter intervals.")
        return None, errors
    return inp, {}


def _default_of(key: str) -> str:
    return next(d for k, _l, d, *_ in _FIELDS if k == key)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_profile(text: str) -> tuple[list[float], str]:
    """Calls per interval from pasted text (one per line; a time before it is ignored, so
    '08:00<TAB>42' works). Returns the numbers and a message for the first bad line."""
    calls: list[float] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = re.split(r"[\t;, ]+", line)
        value = fields[-1]
        if not _NUMBER.fullmatch(value):
            return calls, f"Line {n} ({line!r}) does not end with a number of calls."
        v = float(value)
        if v < 0:
            return calls, f"Line {n}: calls cannot be negative."
        calls.append(v)
    return calls, ""


def pct(v: float) -> str:
    return f"{v * 100:.1f}%"


class StaffingWhatIf(QWidget):
    computed = Signal(object)  # StaffingAnswer, or None when the input is not valid

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self.answer: StaffingAnswer | None = None
        self.input: StaffingInput | None = None

        form_box = QGroupBox("One interval")
        form = QFormLayout(form_box)
        for key, label, default, unit, _range, words in _FIELDS:
            edit = QLineEdit(default)
            edit.setAccessibleName(words)
            edit.setMaximumWidth(120)
            edit.setToolTip(f"{words}, in {unit}")
            edit.textChanged.connect(self.recompute)
            self.fields[key] = edit
            err = QLabel("")
            err.setObjectName("error")
            err.setStyleSheet("color: #c92a2a;")
            err.setWordWrap(True)
            err.hide()
            self.errors[key] = err
            row = QHBoxLayout()
            row.addWidget(edit)
            row.addWidget(muted(unit))
            row.addWidget(err, 1)
            lab = QLabel(label)
            lab.setBuddy(edit)
            form.addRow(lab, row)

        result_box = QGroupBox("Erlang C answer")
        grid = QGridLayout(result_box)
        self.result_labels: dict[str, QLabel] = {}
        rows = (
            ("traffic", "Traffic", "Calls x AHT / interval, in Erlangs (agents' worth of work)."),
            ("agents", "Agents on the phones", "The fewest agents that meet the service-level "
                                              "target without passing the occupancy cap."),
            ("scheduled", "Agents to schedule", "On the phones / (1 - shrinkage), rounded up."),
            ("service_level", "Predicted service level",
             "1 - P(wait) x e^(-(N - A) x target / AHT)"),
            ("asa", "Predicted ASA", "P(wait) x AHT / (N - A)"),
            ("occupancy", "Predicted occupancy", "Traffic / agents on the phones"),
            ("p_wait", "P(wait)", "Erlang C: the chance a caller waits at all."),
        )
        for i, (key, words, tip) in enumerate(rows):
            name = QLabel(words)
            name.setToolTip(tip)
            value = QLabel("\u2014")
            value.setObjectName("sectionTitle")
            value.setToolTip(tip)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(name, i, 0)
            grid.addWidget(value, i, 1)
            self.result_labels[key] = value
        self.status = muted("")
        self.status.setWordWrap(True)
        grid.addWidget(self.status, len(rows), 0, 1, 2)

        top = QHBoxLayout()
        top.addWidget(form_box, 3)
        top.addWidget(result_box, 2)

        day_box = QGroupBox("A day's intervals")
        day = QVBoxLayout(day_box)
        day.addWidget(muted("Paste a forecast: calls per interval, one per line (a time "
                            "before the number is fine, e.g. \u201808:00\t42\u2019). The "
                            "other figures come from the fields above."))
        row = QHBoxLayout()
        self.profile = QPlainTextEdit()
        self.profile.setAccessibleName("Forecast calls per interval")
        self.profile.setPlaceholderText("08:00\t40\n08:30\t65\n09:00\t90\n\u2026")
        self.profile.setMaximumWidth(220)
        row.addWidget(self.profile)
        side = QVBoxLayout()
        self.profile_button = QPushButton("Staff these &intervals")
        self.profile_button.clicked.connect(self.compute_profile)
        self.example_button = QPushButton("Typical &day profile")
        self.example_button.setToolTip("Fill in a typical weekday shape, 8:00 to 20:00.")
        self.example_button.clicked.connect(self.fill_example)
        side.addWidget(self.profile_button)
        side.addWidget(self.example_button)
        self.profile_status = muted("")
        self.profile_status.setWordWrap(True)
        side.addWidget(self.profile_status)
        side.addStretch(1)
        row.addLayout(side)
        self.profile_model = RowsModel([
            Column("Interval", lambda r: r[0]),
            Column("Calls", lambda r: f"{r[1]:g}", align_right=True),
            Column("Agents", lambda r: str(r[2].agents), align_right=True),
            Column("Scheduled", lambda r: str(r[2].scheduled), align_right=True),
            Column("SL", lambda r: pct(r[2].service_level), align_right=True),
            Column("ASA", lambda r: f"{r[2].asa_s:.0f} s", align_right=True),
            Column("Occupancy", lambda r: pct(r[2].occupancy), align_right=True),
        ])
        self.profile_table = make_table(self.profile_model)
        self.profile_table.setAccessibleName("Agents per interval")
        row.addWidget(self.profile_table, 1)
        day.addLayout(row)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(day_box, 1)
        self.recompute()

    def texts(self) -> dict[str, str]:
        return {k: e.text() for k, e in self.fields.items()}

    def recompute(self) -> None:
        inp, errors = parse_inputs(self.texts())
        for key, label in self.errors.items():
            message = errors.get(key, "")
            label.setText(message)
            label.setVisible(bool(message))
        self.input = inp
        if inp is None:
            self.answer = None
            for v in self.result_labels.values():
                v.setText("\u2014")
            self.status.setText("Fix the highlighted field to see the answer.")
            self.computed.emit(None)
            return
        ans = solve(inp)
        self.answer = ans
        shown = {
            "traffic": f"{ans.traffic:.2f} Erlangs", "agents": str(ans.agents),
            "scheduled": str(ans.scheduled), "service_level": pct(ans.service_level),
            "asa": f"{ans.asa_s:.1f} s", "occupancy": pct(ans.occupancy),
            "p_wait": pct(ans.p_wait),
        }
        for key, text in shown.items():
            self.result_labels[key].setText(text)
        if inp.calls == 0:
            self.status.setText("No calls forecast: no agents needed.")
        else:
            limited = "the occupancy cap" if ans.occupancy >= inp.max_occupancy - 0.02 \
                else "the service-level target"
            self.status.setText(
                f"{ans.agents} agents answer {pct(ans.service_level)} within "
                f"{inp.target_s:g} s (target {pct(inp.target_sl)}); set by {limited}.")
        self.computed.emit(ans)

    def fill_example(self) -> None:
        shape = [30, 45, 70, 95, 110, 115, 110, 100, 90, 95, 105, 110, 100, 90, 85, 80, 75,
                 70, 65, 60, 50, 40, 30, 20]
        lines = [f"{8 + i // 2:02d}:{30 * (i % 2):02d}\t{c}" for i, c in enumerate(shape)]
        self.profile.setPlainText("\n".join(lines))
        self.compute_profile()

    def compute_profile(self) -> None:
        calls, problem = parse_profile(self.profile.toPlainText())
        if self.input is None:
            self.profile_status.setText("Fix the fields above first.")
            self.profile_model.set_rows([])
            return
        inp = self.input
        if not calls:
            self.profile_status.setText(problem or "Paste at least one interval's calls.")
            self.profile_model.set_rows([])
            return
        too_big = [c for c in calls if c * inp.aht_s / inp.interval_s > MAX_ERLANGS]
        if too_big:
            self.profile_status.setText(f"{too_big[0]:g} calls in one interval is more "
                                        "traffic than this what-if handles.")
            self.profile_model.set_rows([])
            return
        rows = []
        step = int(inp.interval_s)
        for i, c in enumerate(calls):
            start = 8 * 3600 + i * step
            label = f"{(start // 3600) % 24:02d}:{(start // 60) % 60:02d}"
            rows.append((label, c, solve(inp, c)))
        self.profile_model.set_rows(rows)
        peak = max(r[2].scheduled for r in rows)
        hours = sum(r[2].scheduled for r in rows) * inp.interval_s / 3600
        self.profile_status.setText(
            (problem + " " if problem else "")
            + f"{len(rows)} intervals from 08:00: peak {peak} scheduled, "
            f"{hours:,.1f} agent-hours in all.")
