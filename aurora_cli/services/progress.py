"""The one progress-callback type long-running services report through; they never draw bars."""

from __future__ import annotations

from collections.abc import Callable

# on_progress(done, total or None): items done so far, and the total when it is known.
Progress = Callable[[int, int | None], None]
