"""Telephony: the adapter interface the desktop's call bar talks to (adapter.py), and its
client for the sync server's simulated contact center (acd.py). A real CTI (a SIP
softphone, a vendor's agent API) is another adapter behind the same interface
(docs/CTI.md). The UI never talks to a telephony source directly."""
