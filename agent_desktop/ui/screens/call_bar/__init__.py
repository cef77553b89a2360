"""The call bar (agent state, the call in hand, its timers and keys) and the call's
dialogs (wrap-up, transfer, which customer is calling)."""
