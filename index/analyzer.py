"""The one analyzer used for passages and questions alike."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simplemma
import Stemmer

from .errors import ConfigurationError

# Bumped whenever tokens produced for the same text could change.
ANALYZER_VERSION = 4

# One file of stop words per language (NLTK's lists; origin and licence in its README.md).
_STOPWORDS = Path(__file__).parent / "stopwords"
# Words of NLTK's English list that carry meaning in questions: place, time and direction
# ("before the vote", "against the plan", "after the visit"), quantity and comparison
# ("more than", "few", "only"). They stay content words. Measured in BENCHMARKS.md:
# SciFact and SQuAD both gain from keeping them.
_CONTENT_WORDS_EN = frozenset(
    """above after again against before below between down during off out over through under
    until up once further few more most all any both each some other same only very too own
    nor""".split()
)


@functools.cache
def stopword_list(language: str) -> tuple[str, ...]:
    """The stop words of a language (none for a language without a list)."""
    path = _STOPWORDS / f"{language}.txt"
    if not path.is_file():
        return ()
    words = tuple(w for w in path.read_text(encoding="utf-8").split("\n") if w)
    if language == "english":
        words = tuple(w for w in words if w not in _CONTENT_WORDS_EN)
    return words


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

# A number with inner separators ("3.12", "40,000") is one token; so is a word with
# inner apostrophes.
TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)+(?![^\W_])|[^\W_]+(?:'[^\W_]+)*")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+")
# ASCII characters that a token can hold (after folding); every other one separates tokens.
_ASCII_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) in "'.,")}
)
# Snowball's language names and simplemma's codes, for the languages both know.
_LEMMA_LANGUAGES = {
    "danish": "da",
    "dutch": "nl",
    "english": "en",
    "finnish": "fi",
    "french": "fr",
    "german": "de",
    "hungarian": "hu",
    "italian": "it",
    "norwegian": "nb",
    "portuguese": "pt",
    "romanian": "ro",
    "russian": "ru",
    "spanish": "es",
    "swedish": "sv",
    "turkish": "tr",
}
# Word forms remembered per analyzer; cleared when this many are held.
_FORMS_CACHE = 1 << 20


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


def soft_fold_map(text: str) -> tuple[str, list[int]]:
    """Like fold_map, but accents stay (a lemmatizer needs "dijo", "reunió"); lone
    combining marks are dropped."""
    if text.isascii():
        return text.replace("`", "'").lower(), list(range(len(text) + 1))
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = _soft_fold_char(ch)
        out.append(folded)
        offsets.extend([i] * len(folded))
    offsets.append(len(text))
    return "".join(out), offsets


def _soft_fold_char(ch: str) -> str:
    if ch.isascii():
        return "'" if ch == "`" else ch.lower()
    if unicodedata.combining(ch):
        return ""
    return unicodedata.normalize("NFKC", ch).translate(_QUOTE_TABLE).casefold()


def soft_fold(text: str) -> str:
    """soft_fold_map's text alone, computed on the whole string at once."""
    if text.isascii():
        return text.replace("`", "'").lower()
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE).casefold()
    return text.translate(_WITHOUT_MARKS)


def strip_marks(text: str) -> str:
    """Text without accents (combining marks)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_WITHOUT_MARKS)


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


def _word(token: str) -> str:
    """A token without its possessive ending, so "V&A's" and "Maduro's" lose the 's."""
    return token[:-2] if token.endswith("'s") and len(token) > 2 else token


@dataclass(frozen=True)
class AnalyzerSettings:
    """What decides the tokens: stored with an index to detect a mismatch."""

    language: str = "english"
    stopwords: bool = True
    # Word forms from a dictionary (simplemma) before stemming: met/meet, said/say, dijo/decir.
    lemmatize: bool = True

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
            "lemmatize": self.lemmatize,
            "version": ANALYZER_VERSION,
        }


class Analyzer:
    """Normalise, tokenize, drop stop words, lemmatize, stem."""

    def __init__(
        self,
        settings: AnalyzerSettings | None = None,
        known: Callable[[str], str | None] | None = None,
    ) -> None:
        self.settings = settings or AnalyzerSettings()
        # Index terms of word forms worked out before (an index's forms table): asked before
        # the lemmatizer, whose dictionary takes a good part of a second to load.
        self._known = known
        language = self.settings.language
        self._local = threading.local()
        words: tuple[str, ...] = ()
        if self.settings.stopwords:
            words = stopword_list(language)
        self.stopwords = frozenset(normalize(w) for w in words)
        self._lemma_language = _LEMMA_LANGUAGES.get(language) if self.settings.lemmatize else None
        # Each word form's index term, or "" for a stop word: most words repeat, and the
        # dictionary look-up and the stemmer are the costly part of analysis.
        self._forms: dict[str, str] = {}

    @property
    def _stemmer(self) -> Stemmer.Stemmer:
        # PyStemmer objects are not thread-safe; one per thread.
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = Stemmer.Stemmer(self.settings.language)
            self._local.stemmer = stemmer
        return stemmer

    def term(self, word: str) -> str:
        """The index term of one lower-cased word (accents may stay), or "" for a stop word."""
        term = self._forms.get(word)
        if term is None:
            term = self._known(word) if self._known is not None else None
            if term is None:
                term = self._analyze(word)
            if len(self._forms) >= _FORMS_CACHE:
                self._forms.clear()
            self._forms[word] = term
        return term

    def _analyze(self, word: str) -> str:
        plain = _word(strip_marks(word))
        if plain in self.stopwords:
            return ""
        if plain[:1].isdigit():
            return plain.replace(",", "") if _THOUSANDS_RE.fullmatch(plain) else plain
        if self._lemma_language is not None:
            lemma = simplemma.lemmatize(_word(word), lang=self._lemma_language).lower()
            # A lemma of several words ("gonna") or none is no better than the word.
            if lemma and TOKEN_RE.fullmatch(lemma):
                plain = strip_marks(lemma)
        return str(self._stemmer.stemWord(plain))

    def term_spans(self, text: str) -> list[tuple[int, int, str]]:
        """Each index term of a text with its character span in that text."""
        folded, offsets = soft_fold_map(text)
        out: list[tuple[int, int, str]] = []
        for match in TOKEN_RE.finditer(folded):
            word = match.group()
            term = self.term(word)
            if term:
                size = len(_word(word))
                out.append((offsets[match.start()], offsets[match.start() + size - 1] + 1, term))
        return out

    def tokens(self, text: str) -> list[str]:
        """The word and number tokens of a text, folded, in order: term(token) is each one's
        index term ("" for a stop word)."""
        folded = soft_fold(text)
        if not folded.isascii():
            return TOKEN_RE.findall(folded)
        # No token spans a character that cannot be in one: the text is cut there by C-level
        # string methods, and only pieces with an apostrophe, point or comma need the regex
        # (it takes twice as long over the whole text).
        out: list[str] = []
        for piece in folded.translate(_ASCII_SEPARATORS).split():
            if piece.isalnum():
                out.append(piece)
            else:
                out.extend(TOKEN_RE.findall(piece))
        return out

    def terms(self, text: str) -> list[str]:
        """The index terms of a text, in order, with repeats."""
        words = self.tokens(text)
        # Known word forms are looked up without a Python call per word.
        terms = list(map(self._forms.get, words))
        if None in terms:
            terms = [self.term(w) if t is None else t for w, t in zip(words, terms, strict=True)]
        return list(filter(None, terms))

    def term_set(self, text: str) -> frozenset[str]:
        """The distinct index terms of a text: set(terms(text)), with less work per word."""
        words = set(self.tokens(text))
        return frozenset(self.term(w) for w in words) - {""}
