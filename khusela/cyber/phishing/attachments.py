"""Attachment checks: file types that run code when opened, names that hide their real type, and
Office macros read with oletools (no file is ever written or opened outside memory)."""

from __future__ import annotations

import warnings

DANGEROUS = frozenset(
    [
        "exe",
        "scr",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "hta",
        "iso",
        "img",
        "lnk",
        "bat",
        "cmd",
        "com",
        "pif",
        "msi",
        "ps1",
        "jar",
        "cpl",
        "reg",
        "html",
        "htm",
        "shtml",
        "svg",
        "xhtml",
        "mobileconfig",
        "one",
        "vhd",
        "vhdx",
        "appx",
        "msix",
        "dll",
    ]
)
DOCUMENTS = frozenset(
    [
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "txt",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "rtf",
        "zip",
        "csv",
        "odt",
    ]
)
OFFICE = frozenset(
    [
        "doc",
        "docm",
        "docx",
        "dot",
        "dotm",
        "xls",
        "xlsm",
        "xlsb",
        "xlsx",
        "xlt",
        "xltm",
        "ppt",
        "pptm",
        "pptx",
        "rtf",
    ]
)


def extension_reasons(filename: str) -> list[tuple[int, str]]:
    """(weight, reason) for a risky file name; a double extension is the classic disguise."""
    parts = filename.lower().strip().rstrip(".").split(".")
    if len(parts) < 2:
        return []
    last = parts[-1]
    if last in DANGEROUS and len(parts) >= 3 and parts[-2] in DOCUMENTS:
        return [(45, f"The attachment '{filename}' hides a .{last} file behind a .{parts[-2]} name")]
    if last in DANGEROUS:
        return [
            (35, f"The attachment '{filename}' is a .{last} file, which can run code or show a fake page")
        ]
    return []


def macro_reasons(filename: str, data: bytes) -> list[tuple[int, str]]:
    """Weight for VBA macros found by olevba, more when they run on open or touch the system."""
    if filename.lower().rpartition(".")[2] not in OFFICE or not data:
        return []
    with warnings.catch_warnings():  # oletools still calls pyparsing APIs that now warn on import
        warnings.simplefilter("ignore")
        from oletools.olevba import VBA_Parser  # type: ignore[import-untyped]

        try:
            parser = VBA_Parser(filename, data=data)
        except Exception:
            return []
        try:
            if not parser.detect_vba_macros():
                return []
            found: list[tuple[int, str]] = [(30, f"The attachment '{filename}' contains Office macros")]
            results = parser.analyze_macros() or []
            auto = sorted({str(kw) for kind, kw, _ in results if kind == "AutoExec"})
            risky = sorted({str(kw) for kind, kw, _ in results if kind == "Suspicious"})
        except Exception:
            return [(30, f"The attachment '{filename}' contains Office macros")]
        finally:
            parser.close()
    if auto:
        found.append((20, f"Its macros run by themselves when opened ({', '.join(auto[:3])})"))
    if risky:
        found.append((15, f"Its macros use suspicious commands ({', '.join(risky[:4])})"))
    return found


_PAGE_TRICKS = (
    (b'type="password"', "asks for a password"),
    (b"type='password'", "asks for a password"),
    (b"type=password", "asks for a password"),
    (b"<form", "contains a form"),
    (b"atob(", "decodes hidden content with script"),
    (b"window.location", "sends the browser elsewhere with script"),
    (b"location.href", "sends the browser elsewhere with script"),
    (b"location.replace", "sends the browser elsewhere with script"),
    (b'<meta http-equiv="refresh"', "redirects the browser"),
)


def page_reasons(filename: str, content_type: str, data: bytes) -> list[tuple[int, str]]:
    """An attached web page that asks for a password or jumps elsewhere is a phishing page carried
    inside the mail, where no link scanner looks."""
    ext = filename.lower().rpartition(".")[2]
    if not data or (
        content_type not in {"text/html", "image/svg+xml"} and ext not in {"html", "htm", "shtml", "svg"}
    ):
        return []
    lowered = data[:200_000].lower()
    tricks = sorted({label for needle, label in _PAGE_TRICKS if needle in lowered})
    if not tricks:
        return []
    return [(30, f"The attached page '{filename or content_type}' {' and '.join(tricks[:3])}")]
