"""Country names and their adjectives (Peru/Peruvian, Norway/Norwegian) as equivalent terms."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from countryinfo import CountryInfo

from .analyzer import Analyzer, AnalyzerSettings

# Shortest shared prefix for a word of a multi-word name to pair with its adjective
# ("El Salvador"/"Salvadoran") or for an alternative spelling to join ("Argentine").
_PREFIX = 5


def _shares_prefix(a: str, b: str) -> bool:
    return len(a) >= _PREFIX and len(b) >= _PREFIX and a[:_PREFIX] == b[:_PREFIX]


def country_texts() -> list[str]:
    """Every country name, demonym and alternative spelling of the data set."""
    texts: list[str] = []
    for info in CountryInfo.all().values():
        texts.append(str(info.get("name") or ""))
        texts.append(str(info.get("demonym") or ""))
        texts.extend(str(alt) for alt in info.get("altSpellings") or [])
    return texts


class Places:
    """Equivalent index terms for country names, from the countryinfo data set."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.names, self._equivalents = _country_terms(analyzer.settings, analyzer)

    def equivalents(self, term: str) -> frozenset[str]:
        """Other terms that name the same country as term."""
        return self._equivalents.get(term, frozenset())

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


# Country terms per analyzer settings: the same for every index opened with them, so worked
# out once per process.
_TERMS: dict[AnalyzerSettings, tuple[frozenset[str], dict[str, frozenset[str]]]] = {}


def _country_terms(
    settings: AnalyzerSettings, analyzer: Analyzer
) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The index terms of country names, and each one's equivalents (analyzed with
    analyzer, whose settings are settings)."""
    found = _TERMS.get(settings)
    if found is None:
        found = _TERMS[settings] = _analyze_countries(analyzer)
    return found


def _analyze_countries(analyzer: Analyzer) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    equivalents: dict[str, set[str]] = defaultdict(set)
    names: set[str] = set()
    if analyzer.settings.language != "english":
        return frozenset(), {}
    for info in CountryInfo.all().values():
        name_terms = analyzer.terms(str(info.get("name") or ""))
        demonym_terms = analyzer.terms(str(info.get("demonym") or ""))
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
            equivalents[term].update(group - {term})
    return frozenset(names), {term: frozenset(group) for term, group in equivalents.items()}
