"""Structure: cleaned text -> headings, sections, and the parts of a bundle of several profiles or case studies."""

from ingest.structure.detect import NOT_INDEXABLE, DocumentStructure, Section, detect_structure
from ingest.structure.headings import heading_text, is_heading

__all__ = ["NOT_INDEXABLE", "DocumentStructure", "Section", "detect_structure", "heading_text", "is_heading"]
