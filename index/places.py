"""Country names and their adjectives (Peru/Peruvian, Norway/Norwegian) as equivalent terms."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from countryinfo import CountryInfo

from .analyzer import Analyzer

# Shortest shared prefix for a word of a multi-word name to pair with its adjective
# ("El Salvador"/"Salvadoran") or for an alternative spelling to join ("Argentine").
_PREFIX = 5


def _shares_prefix(a: str, b: str) -> bool:
    return len(a) >= _PREFIX and len(b) >= _PREFIX and a[:_PREFIX] == b[:_PREFIX]


class Places:
    """Equivalent index terms for country names, from the countryinfo data set."""

    def __init__(self, analyzer: Analyzer) -> None:
        self._equivalents: dict[str, set[str]] = defaultdict(set)
        self.names: frozenset[str]
        names: set[str] = set()
        if analyzer.settings.language != "english":
            self.names = frozenset()
            return
        for info in CountryInfo.all().values():
            name = str(info.get("name") or "")
            demonym = str(info.get("demonym") or "")
            name_terms = analyzer.terms(name)
            demonym_terms = analyzer.terms(demonym)
            names.update(name_terms if len(name_terms) == 1 else [])
            names.update(demonym_terms if len(demonym_terms) == 1 else [])
            if len(demonym_terms) != 1:
                continue
            adjective = demonym_terms[0]
            if len(name_terms) == 1:
                group = {name_terms[0], adjective}
            else:
                group = {t for t in name_terms if _shares_prefix(t, adjective)} | {adjective}
            for alt in info.get("altSpellings") or []:
                group.update(t for t in analyzer.terms(str(alt)) if _shares_prefix(t, adjective))
            if len(group) < 2:
                continue
            names.update(group)
            for term in group:
                self._equivalents[term].update(group - {term})
        self.names = frozenset(names)

    def equivalents(self, term: str) -> frozenset[str]:
        """Other terms that name the same country as term."""
        return frozenset(self._equivalents.get(term, ()))

    def most_mentioned(self, df: Callable[[Iterable[str]], int], limit: int) -> list[str]:
        """Country names the corpus mentions most, most frequent first, one per country;
        df counts the passages that hold any of some terms."""
        counted = [
            (df(frozenset({name}) | self.equivalents(name)), name)
            for name in self.names
            if df((name,))
        ]
        counted.sort(key=lambda item: (-item[0], len(item[1]), item[1]))
        names: list[str] = []
        for _, name in counted:
            if not self.equivalents(name) & set(names):
                names.append(name)
        return [name.title() for name in names[:limit]]
