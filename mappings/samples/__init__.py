"""Bundled sample Canvas live events (canvas_events.jsonl), one per mapped event name."""
