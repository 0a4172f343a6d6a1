"""How informative a question word is: from the corpus when it has the word, else from
how common the word is in the language at large."""

from __future__ import annotations

import math

import wordfreq

from . import language as languages

# wordfreq's codes for the analyzer's languages that it has frequencies for.
_LANGUAGES = {
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
# A word the frequency lists do not know is treated as this rare (Zipf scale): a name.
_UNKNOWN_ZIPF = 1.0


def idf(df: float, size: int) -> float:
    """BM25's inverse document frequency of a term in df of size passages, never negative."""
    return math.log(1 + (size - df + 0.5) / (df + 0.5))


class Informativeness:
    """Weights of question words on one scale, whether or not the corpus has them.

    A corpus's document frequency says nothing about a word it lacks: "money" is absent
    from a corpus about a budget, yet it is a common word, not a rare name. Such a word is
    weighed by the document frequency it would have if the corpus used it as often as the
    language does (wordfreq's general-language frequencies).
    """

    def __init__(self, language: str, size: int, mean_words: float) -> None:
        self._language = _LANGUAGES.get(language)
        self._size = max(size, 1)
        # Words per passage, stop words included, from the index terms per passage.
        self._mean_words = max(mean_words, 1.0)

    def weight(self, word: str, df: int, asked_in: str | None = None) -> float:
        """The informativeness of a question word found in df passages (0: absent); asked_in:
        the question's language when it is not the corpus's."""
        if df > 0:
            return idf(df, self._size)
        return idf(self.expected_df(word, asked_in), self._size)

    def expected_df(self, word: str, asked_in: str | None = None) -> float:
        """Passages that would hold the word if the corpus used it as the language does (as
        the corpus's language or the question's does, whichever uses it more)."""
        zipf = _UNKNOWN_ZIPF
        if self._language is not None:
            zipf = max(wordfreq.zipf_frequency(word, self._language), zipf)
        if asked_in is not None:
            zipf = max(languages.zipf(word, asked_in), zipf)
        per_word = 10 ** (zipf - 9)
        return self._size * -math.expm1(self._mean_words * math.log1p(-per_word))
