"""One module per family of Canvas events; each function is the field table of its events."""
