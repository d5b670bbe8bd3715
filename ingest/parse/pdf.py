"""Parsing PDF files with PDFium: each page's text layer and the metadata Title."""

from __future__ import annotations

import threading

import pypdfium2 as pdfium

from ingest.parse.common import ParsedFile, ParseError, collapse

__all__ = ["parse_pdf"]

# PDFium is not thread-safe; pypdfium2 says calls must never run concurrently, and the web app
# may ingest uploads from a thread pool.
_PDFIUM_LOCK = threading.Lock()


def parse_pdf(data: bytes, max_bytes: int) -> ParsedFile:
    """Parse a PDF's text layer, pages separated by blank lines; metadata records the page count.

    Raises ParseError for damaged or password-protected files and for PDFs with no text layer.
    """
    with _PDFIUM_LOCK:
        page_texts, title = _read_pdf(data)
    pages = [text.replace("\r\n", "\n").replace("\r", "\n").strip() for text in page_texts]
    plain = "\n\n".join(text for text in pages if text)
    if not plain:
        raise ParseError(
            "no text could be extracted from the PDF (it may be a scanned image without a text layer)"
        )
    title = collapse(title or "")
    return ParsedFile(text=plain, title=title or None, metadata={"pages": len(pages)}, format="pdf")


def _read_pdf(data: bytes) -> tuple[list[str], str | None]:
    """Return each page's text and the metadata Title; only PDFium calls happen in here."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            raise ParseError("could not read the PDF: it is password-protected") from exc
        raise ParseError("could not read the PDF: the file is damaged or is not a PDF") from exc
    except Exception as exc:  # PDFium's bindings may raise other errors on hostile bytes
        raise ParseError("could not read the PDF: the file is damaged or is not a PDF") from exc
    try:
        title = document.get_metadata_dict(skip_empty=True).get("Title")
        page_texts: list[str] = []
        for index in range(len(document)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    # get_text_bounded gives full Unicode; get_text_range is limited to UCS-2.
                    page_texts.append(textpage.get_text_bounded())
                finally:
                    textpage.close()
            finally:
                page.close()
    except Exception as exc:  # any failure here comes from PDFium reading a damaged file
        raise ParseError("could not read the PDF: part of the file is damaged") from exc
    finally:
        document.close()
    return page_texts, title
