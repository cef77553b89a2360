"""The Cases area: saved views of the case list, a case's detail, and the case dialogs."""
