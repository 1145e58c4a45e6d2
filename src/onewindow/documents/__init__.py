"""Official documents (文书): the PDFs a case produces and the codes that verify them.

Pure: no database, no web. ``DocumentData`` (checked on construction) → ``render`` → PDF bytes;
``verification_code`` / ``normalise_code`` make and read the code printed on each document.
The caller stores the bytes (content-addressed), ``code → sha256(pdf)`` and the ledger entry.
"""

from onewindow.documents.codes import normalise_code, verification_code
from onewindow.documents.data import (
    DECISIONS,
    REFUSALS,
    DocumentData,
    DocumentKind,
    ReviewRights,
)
from onewindow.documents.render import (
    Composition,
    Section,
    compose,
    render,
    rights_of_review,
)

__all__ = [
    "DECISIONS",
    "REFUSALS",
    "Composition",
    "DocumentData",
    "DocumentKind",
    "ReviewRights",
    "Section",
    "compose",
    "normalise_code",
    "render",
    "rights_of_review",
    "verification_code",
]
