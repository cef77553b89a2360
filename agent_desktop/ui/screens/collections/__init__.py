"""The Collections area: the compliant outbound worklist."""
