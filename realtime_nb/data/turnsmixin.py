"""The facade's part for turns: ``conv.turns``, ``conv.cost()`` and ``conv.plot_timeline()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..parts import Part

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .turns import TurnFrame


class TurnsMixin(Part):
    """One row per response, its cost, and the session's timeline (all from the event log,
    so a loaded conversation has them too)."""

    _turns: TurnFrame | None = None

    def _turn_frame(self) -> TurnFrame:
        if self._turns is None:
            from .turns import TurnFrame

            self._turns = TurnFrame(self._core.log, self.endpoint.model)
        return self._turns

    @property
    def turns(self) -> pd.DataFrame:
        """One row per response: ``response_id``, ``status``, ``status_reason``,
        ``requested_at`` (our ``response.create``; ``NaT`` when the server started it),
        ``created_at``, ``first_text_s``, ``first_audio_s``, ``done_s`` (seconds from
        ``requested_at``, else ``created_at``), ``items`` and ``tool_calls`` (lists of ids),
        the usage of ``response.done`` (``input_tokens``, ``output_tokens``,
        ``total_tokens``, ``cached_tokens``, ``input_text_tokens``, ``input_audio_tokens``,
        ``output_text_tokens``, ``output_audio_tokens``), ``cost`` (USD from ``rnb.prices``
        and the session's model; ``<NA>`` for an unknown model) and
        ``speech_end_to_first_audio_s`` (voice turns). Built incrementally; each read is a new
        frame."""
        return self._turn_frame().frame()

    def turns_with(self, *, model: str | None = None, prices: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
        """:attr:`turns` priced as ``model`` (instead of the session's) and/or with another
        price table."""
        return self._turn_frame().frame(model, prices)

    def cost(self, *, model: str | None = None, prices: pd.DataFrame | None = None) -> Any:
        """USD of every finished response (the sum of ``turns.cost``); ``<NA>`` when any of
        them cannot be priced (an unknown model, a price the table lacks), never a partial
        sum."""
        import pandas as pd

        turns = self._turn_frame().frame(model, prices)
        finished = turns[turns.done_s.notna()]
        if finished.cost.isna().any():
            return pd.NA
        return float(finished.cost.sum())

    def plot_timeline(self, ax: Axes | None = None, *, title: str | None = None,
                      latency: bool = True) -> Figure:
        """The session on one time axis (user speech and text, each response from request
        to first delta to done, audio played and where it was cut, tool runs) plus each
        response's latency; returns the matplotlib figure (``ax=``: draw the lanes there)."""
        from .timeline import plot_timeline

        return plot_timeline(self._core.log.entries(), ax, title=title, latency=latency)


__all__ = ["TurnsMixin"]
