"""Run by test_payment_sigkill.py as its own process: a desk takes a card-on-file payment
and syncs it, and kills itself with SIGKILL at one chosen step of pushing it.

    python _payment_sigkill_child.py STORE SERVER_URL CUSTOMER_ID METHOD_ID PAYMENT_ID \
        AMOUNT_CENTS STEP MARKER

The product code runs as it is (payments.take_payment, SyncService.sync). As in
_sigkill_child.py, the only scaffolding is in this process: wrappers around the real
functions (or a network stream around the real socket) that, at STEP, write STEP to
MARKER and SIGKILL the process. Exits 3 if STEP was never reached.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

# The socket stream that dies once a push request is written in full (no answer read).
from _sigkill_child import arm_push_steps

STEPS = (
    "after_outbox_write",  # take_payment committed (payment pending, outbox row); no push
    "after_mark_sent",  # the outbox row is marked sent; nothing on the wire yet
    "after_sending",  # the whole push request is on the wire; no answer read
    "before_recording_answer",  # the answer is read and parsed; nothing recorded
    "recording_answer_uncommitted",  # record_results' changes flushed, not committed
)


def main(argv: list[str]) -> int:
    (store_path, server_url, customer_id, method_id, payment_id, amount,
     step, marker) = argv[1:9]
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")

    def die() -> None:
        Path(marker).write_text(step)
        os.kill(os.getpid(), signal.SIGKILL)

    # This process's own keyring: in memory, like the tests'.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import keyring
    from memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())

    from agent_desktop.services import payments
    from agent_desktop.services.context import agent_by_username
    from agent_desktop.services.sync import SyncService
    from agent_desktop.storage.store import open_store

    store = open_store(store_path)
    service = SyncService(store, server_url, "agent")
    service.login("demo")
    who = agent_by_username(store, "agent")
    assert who is not None

    # The agent presses Pay: the payment is written pending with its id, and queued.
    payments.take_payment(store, who, customer_id, int(amount), "card",
                          payment_id=payment_id, payment_method_id=method_id)
    if step == "after_outbox_write":
        die()

    arm_push_steps(step, service, server_url, die)
    service.sync()
    print(f"step {step} was never reached", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
