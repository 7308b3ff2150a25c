"""Helpers shared by the render tests: PDF text via pypdf, XML paths in the CII namespaces."""

from __future__ import annotations

import io

import pypdf
from lxml import etree

from syncd.render.cii import NSMAP


def pdf_text(pdf: bytes) -> str:
    """All text of a PDF, pages joined, whitespace runs folded to single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split())


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def xpath(xml: bytes, path: str) -> list[str]:
    """Texts (or attribute values) at `path` in a CII document."""
    found = etree.fromstring(xml).xpath(path, namespaces=NSMAP)
    return [x if isinstance(x, str) else (x.text or "") for x in found]


def _times(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """The PDF matrix product m x n (m applied first)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
PAINT = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"}
SHOW = {"Tj", "TJ", "'", '"'}


def drawn(pdf: bytes) -> list[list[tuple]]:
    """Per page, what is drawn, in page coordinates and sorted: every text run (its bytes,
    font, size, position, colour), every painted or clipping path (its points, colours, line
    width) and every image placement, with form XObjects followed into and transformed.
    Two PDFs that draw the same things in another order or nesting compare equal."""
    import pikepdf

    def norm(values) -> tuple:
        return tuple(round(float(v), 2) for v in values)

    out: list[list[tuple]] = []
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        for page in opened.pages:
            marks: list[tuple] = []
            _walk(page.obj, page.obj.get("/Resources"), IDENTITY, marks, norm)
            out.append(sorted(marks, key=repr))
    return out


def _walk(content, resources, ctm, marks, norm) -> None:
    import pikepdf

    stack: list[tuple] = []
    state = {"ctm": ctm, "fill": (0.0,), "stroke": (0.0,), "width": 1.0}
    path: list[tuple] = []
    clip = False
    tm = tlm = IDENTITY
    font, size, leading = "", 0.0, 0.0
    for operands, operator in pikepdf.parse_content_stream(content):
        op = str(operator)
        args = list(operands)
        if op == "q":
            stack.append(dict(state))
        elif op == "Q":
            state = stack.pop()
        elif op == "cm":
            state["ctm"] = _times(tuple(map(float, args)), state["ctm"])
        elif op in ("rg", "g", "k", "sc", "scn"):
            state["fill"] = norm(a for a in args if not isinstance(a, pikepdf.Name))
        elif op in ("RG", "G", "K", "SC", "SCN"):
            state["stroke"] = norm(a for a in args if not isinstance(a, pikepdf.Name))
        elif op == "w":
            state["width"] = float(args[0])
        elif op in ("m", "l", "c", "v", "y", "re"):
            a, b, c, d, e, f = state["ctm"]
            xy = [float(v) for v in args]
            if op == "re":
                x, y, w, h = xy
                xy = [x, y, x + w, y + h]
            path.append((op, *((round(a * x + c * y + e, 2), round(b * x + d * y + f, 2))
                               for x, y in zip(xy[::2], xy[1::2], strict=True))))
        elif op in ("W", "W*"):
            clip = True
        elif op in PAINT:
            if clip:
                marks.append(("clip", tuple(path)))
            if op != "n":
                marks.append((op, tuple(path), state["fill"], state["stroke"],
                              round(state["width"] * abs(state["ctm"][3]), 3)))
            path, clip = [], False
        elif op == "BT":
            tm = tlm = IDENTITY
        elif op == "Tf":
            fonts = resources.get("/Font", {})
            font = str(fonts[args[0]].get("/BaseFont", args[0]))
            size = float(args[1])
        elif op == "TL":
            leading = float(args[0])
        elif op in ("Td", "TD", "T*"):
            tx, ty = (0.0, -leading) if op == "T*" else map(float, args)
            if op == "TD":
                leading = -ty
            tm = tlm = _times((1.0, 0.0, 0.0, 1.0, tx, ty), tlm)
        elif op == "Tm":
            tm = tlm = tuple(map(float, args))
        elif op in SHOW:
            place = _times(tm, state["ctm"])
            marks.append(("text", repr(args[-1]), font, round(size * place[0], 2),
                          round(place[4], 2), round(place[5], 2), state["fill"]))
        elif op == "Do":
            xobject = resources["/XObject"][args[0]]
            if xobject.get("/Subtype") == "/Form":
                matrix = tuple(map(float, xobject.get("/Matrix", IDENTITY)))
                _walk(xobject, xobject.get("/Resources", resources),
                      _times(matrix, state["ctm"]), marks, norm)
            else:
                marks.append(("image", norm(state["ctm"])))
