"""PNG: the first page of the dashboard's PDF, rasterised by PDFium (no browser)."""

from __future__ import annotations

import io

DEFAULT_SCALE = 2.0  # 144 dpi: an A4 page becomes about 1190 x 1684 pixels


def render_png(pdf: bytes, *, scale: float = DEFAULT_SCALE) -> bytes:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        bitmap = page.render(scale=scale)
        image = bitmap.to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        page.close()
        return out.getvalue()
    finally:
        document.close()
