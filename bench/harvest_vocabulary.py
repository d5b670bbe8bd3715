"""Propose vocabulary entries from the terms documents define themselves, each with the line it was read from.

python bench/harvest_vocabulary.py ../shared/seeds            # what is new against corpus/vocabulary.yaml
python bench/harvest_vocabulary.py ../shared/seeds --all      # every definition found, known or not

Nothing is written: a person reviews the proposals and adds the facts (an acronym's expansion) to
corpus/vocabulary.yaml in their own words, with `source: "seed 004 L1234 (defined at first use)"`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.definitions import Definition, definitions_in  # noqa: E402
from ingest.parse import SUPPORTED_SUFFIXES, parse_file  # noqa: E402
from kb.vocabulary import Vocabulary, load_vocabulary, phrase_key  # noqa: E402


def files_under(paths: Iterable[Path]) -> list[Path]:
    """The supported files named, or found under the folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            found.append(path)
    return found


def source_name(path: Path) -> str:
    """ "seed 004" for the shared seeds (named NNN_hash.txt), else the file's name."""
    match = re.match(r"(\d{3})_[0-9a-f]+$", path.stem)
    return f"seed {match.group(1)}" if match else path.name


def singular(short: str) -> str:
    """ "CCGs" -> "CCG": the vocabulary lists an acronym once, and matching folds the plural."""
    return short[:-1] if len(short) > 2 and short.endswith("s") and short[-2].isupper() else short


def is_known(definition: Definition, vocabulary: Vocabulary) -> bool:
    """Whether the vocabulary already has this acronym with this expansion (or this name in a group)."""
    long_key = phrase_key(definition.long.replace("&", " and "))
    if definition.kind == "acronym":
        for acronym, expansions in vocabulary.acronyms.items():
            if phrase_key(acronym) == phrase_key(singular(definition.short)):
                return long_key in {phrase_key(e) for e in expansions}
        return False
    short_key = phrase_key(definition.short)
    return any({long_key, short_key} <= {phrase_key(p) for p in group} for group in vocabulary.synonyms)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--all", action="store_true", help="also list definitions the vocabulary already has")
    args = parser.parse_args(argv)
    vocabulary = load_vocabulary()
    known_acronyms = {phrase_key(singular(a)) for a in vocabulary.acronyms}
    for path in files_under(args.paths):
        # Line numbers are those of the parsed text, which for .txt and .md are the file's own.
        for definition in definitions_in(parse_file(path).text):
            known = is_known(definition, vocabulary)
            if known and not args.all:
                continue
            if known:
                status = "known"
            elif definition.kind == "acronym" and phrase_key(singular(definition.short)) in known_acronyms:
                status = "new expansion"
            else:
                status = "new"
            print(f"{definition.kind:8} {status:14} {definition.short!r}: {definition.long!r}")
            print(f'         source: "{source_name(path)} L{definition.line}"  | {definition.evidence[:150]}')


if __name__ == "__main__":
    main()
