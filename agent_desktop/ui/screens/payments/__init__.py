"""Payments, adjustments and approvals: the dialogs an agent and a supervisor use."""
