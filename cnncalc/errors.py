"""The one exception type cnncalc raises for bad input, and helpers to make its message useful."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CnncalcError", "did_you_mean", "short", "MAX_MESSAGE"]

#: Longest message printed; a spec can put any text in a name or value, and the message is one line.
MAX_MESSAGE = 2000


def short(value: object, limit: int = 80) -> str:
    """``repr`` of a value, bounded in length and nesting (a value can be a huge YAML structure).

    >>> short([[1, 2]] * 100)
    '[[1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], …]'
    """
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxstring, r.maxother = 3, 6, 6, 6, limit, limit
    r.fillvalue = "…"
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _printable(text: str) -> str:
    """One line, no terminal control sequences: newlines/tabs become spaces, other controls \\xNN."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\r\t":
            out.append(" ")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])
    return "".join(out)


class CnncalcError(Exception):
    """A bad spec, argument or shape. ``str(err)`` is the one-line message the CLI prints.

    Form: ``FILE:LINE:COL: layer 'NAME' (TYPE): what is wrong; hint``. Location parts are filled
    in by whoever knows them: a layer's shape rule raises with only the message, and the graph
    builder adds the file, line and layer with :meth:`locate`.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        layer: str | None = None,
        layer_type: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        self.layer = layer
        self.layer_type = layer_type
        self.hint = hint
        #: where the failing layer was reached from: block invocations, innermost first
        self.via: list[str] = []

    def locate(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        layer: str | None = None,
        layer_type: str | None = None,
    ) -> CnncalcError:
        """Fill in location fields that are still unknown; return self (for ``raise err.locate(..)``)."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line, self.col = line, col
        if self.layer is None:
            self.layer = layer
        if self.layer_type is None:
            self.layer_type = layer_type
        return self

    def __str__(self) -> str:
        parts = []
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
        if where:
            parts.append(where + ": ")
        if self.layer:
            parts.append(f"layer '{self.layer}'")
            if self.layer_type:
                parts.append(f" ({self.layer_type})")
            parts.append(": ")
        parts.append(self.message)
        if self.hint:
            parts.append(f"; {self.hint}")
        if self.via:
            shown = self.via[:3] + (["…"] if len(self.via) > 3 else [])
            parts.append(" (" + "; ".join(shown) + ")")
        text = _printable("".join(parts))
        if len(text) > MAX_MESSAGE:
            text = text[: MAX_MESSAGE - 1] + "…"
        return text


def did_you_mean(word: str, choices: Iterable[str], what: str = "") -> str:
    """A hint naming the closest choices (``did you mean 'conv2d'?``), or listing them."""
    import difflib

    choices = sorted({str(c) for c in choices})
    close = difflib.get_close_matches(str(word), choices, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if not choices:
        return f"no {what or 'choices'} are defined"
    shown = ", ".join(choices[:25]) + (", …" if len(choices) > 25 else "")
    return f"expected one of {what + ': ' if what else ''}{shown}"
