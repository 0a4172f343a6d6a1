"""The one analyzer used for passages and questions alike."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

import Stemmer
from bm25s import stopwords as _bm25s_stopwords

from .errors import ConfigurationError

# Bumped whenever tokens produced for the same text could change.
ANALYZER_VERSION = 3

# Words of NLTK's English list (as bm25s ships it) that carry meaning in questions: place,
# time and direction ("before the vote", "against the plan", "after the visit"), quantity
# and comparison ("more than", "few", "only"). They stay content words. Measured in
# BENCHMARKS.md: SciFact and SQuAD both gain from keeping them.
_CONTENT_WORDS_EN = frozenset(
    """above after again against before below between down during off out over through under
    until up once further few more most all any both each some other same only very too own
    nor""".split()
)
_STOPWORD_LISTS: dict[str, tuple[str, ...]] = {
    "english": tuple(w for w in _bm25s_stopwords.STOPWORDS_EN_PLUS if w not in _CONTENT_WORDS_EN),
    "danish": _bm25s_stopwords.STOPWORDS_DANISH,
    "dutch": _bm25s_stopwords.STOPWORDS_DUTCH,
    "french": _bm25s_stopwords.STOPWORDS_FRENCH,
    "german": _bm25s_stopwords.STOPWORDS_GERMAN,
    "italian": _bm25s_stopwords.STOPWORDS_ITALIAN,
    "norwegian": _bm25s_stopwords.STOPWORDS_NORWEGIAN,
    "portuguese": _bm25s_stopwords.STOPWORDS_PORTUGUESE,
    "russian": _bm25s_stopwords.STOPWORDS_RUSSIAN,
    "spanish": _bm25s_stopwords.STOPWORDS_SPANISH,
    "swedish": _bm25s_stopwords.STOPWORDS_SWEDISH,
    "turkish": _bm25s_stopwords.STOPWORDS_TURKISH,
}

# Curly, low and prime quote marks all count as the straight ones.
_QUOTE_TABLE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)

_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# The possessive ending, as _word strips it from a token ("V&A's" is "V&A").
_POSSESSIVE_RE = re.compile(r"(?<=[^\W_])'s(?![^\W_]|'[^\W_])")


def fold(text: str) -> str:
    """Case-fold, strip accents and unify quote marks, for matching phrases."""
    return fold_map(text)[0]


def fold_map(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters (and its end), the source offset."""
    if text.isascii():
        return text.replace("`", "'").lower(), list(range(len(text) + 1))
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        offsets.extend([i] * len(folded))
    offsets.append(len(text))
    return "".join(out), offsets


def _fold_char(ch: str) -> str:
    if ch.isascii():
        return "'" if ch == "`" else ch.lower()
    return normalize(ch)


def normalize(text: str) -> str:
    """Fold text for matching: compatibility forms, case, accents, quote marks."""
    if text.isascii():
        return text.replace("`", "'").lower()
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE).casefold()
    return unicodedata.normalize("NFKD", text).translate(_WITHOUT_MARKS)


class _MarkStripper(dict[int, int | None]):
    """A str.translate table that deletes combining marks, filled in as characters appear."""

    def __missing__(self, cp: int) -> int | None:
        value = None if unicodedata.combining(chr(cp)) else cp
        self[cp] = value
        return value


_WITHOUT_MARKS = _MarkStripper()


def _without_possessives(folded: str) -> str:
    """Folded text without possessive endings (the regex is slow; most text has none)."""
    return _POSSESSIVE_RE.sub("", folded) if "'s" in folded else folded


def _word(token: str) -> str:
    """A token without its possessive ending, so "V&A's" and "Maduro's" lose the 's."""
    return token[:-2] if token.endswith("'s") and len(token) > 2 else token


@dataclass(frozen=True)
class AnalyzerSettings:
    """What decides the tokens: stored with an index to detect a mismatch."""

    language: str = "english"
    stopwords: bool = True

    def __post_init__(self) -> None:
        if self.language not in Stemmer.algorithms():
            known = ", ".join(sorted(a for a in Stemmer.algorithms() if a != "porter"))
            raise ConfigurationError(
                f"retrieval.language: unknown language {self.language!r}; use one of: {known}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Settings as stored in the index metadata."""
        return {
            "language": self.language,
            "stopwords": self.stopwords,
            "version": ANALYZER_VERSION,
        }


class Analyzer:
    """Normalise, tokenize, drop stop words, stem."""

    def __init__(self, settings: AnalyzerSettings | None = None) -> None:
        self.settings = settings or AnalyzerSettings()
        language = self.settings.language
        self._local = threading.local()
        words: tuple[str, ...] = ()
        if self.settings.stopwords:
            words = _STOPWORD_LISTS.get(language, ())
        self.stopwords = frozenset(normalize(w) for w in words)

    @property
    def _stemmer(self) -> Stemmer.Stemmer:
        # PyStemmer objects are not thread-safe; one per thread.
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = Stemmer.Stemmer(self.settings.language)
            self._local.stemmer = stemmer
        return stemmer

    def words(self, text: str) -> list[str]:
        """Normalised word and number tokens, stop words removed, not stemmed."""
        text = _without_possessives(normalize(text))
        return [w for w in _TOKEN_RE.findall(text) if w not in self.stopwords]

    def stem(self, words: list[str]) -> list[str]:
        """Stem already normalised words."""
        return list(self._stemmer.stemWords(words))

    def term_spans(self, text: str) -> list[tuple[int, int, str]]:
        """Each index term of a text with its character span in that text."""
        folded, offsets = fold_map(text)
        found = [(m.start(), _word(m.group())) for m in _TOKEN_RE.finditer(folded)]
        kept = [(start, word) for start, word in found if word not in self.stopwords]
        stems = self.stem([word for _, word in kept])
        return [
            (offsets[start], offsets[start + len(word) - 1] + 1, stem)
            for (start, word), stem in zip(kept, stems, strict=True)
        ]

    def terms(self, text: str) -> list[str]:
        """The index terms of a text, in order, with repeats."""
        return self.stem(self.words(text))

    def term_set(self, text: str) -> frozenset[str]:
        """The distinct index terms of a text: set(terms(text)), with less work per word."""
        words = set(_TOKEN_RE.findall(_without_possessives(normalize(text))))
        words -= self.stopwords
        return frozenset(self._stemmer.stemWords(list(words)) if words else ())
