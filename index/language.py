"""The language a question is written in, when it is not the corpus's.

Readers ask in their own language as well as in the documents' ("¿Qué dijo Petro sobre
Venezuela?" over English statements). Read with the corpus's analyzer alone, such a
question's function words ("qué", "sobre") count as content words no source holds, and
weighed as rare words they veto the answer. Knowing the question's language, its own stop
words are dropped and its words weighed by how common they are in that language, so the
words both languages share (names, places, numbers) carry the question.

The language is told from wordfreq's general-language frequencies (for the corpus's
language the list its weights already read, for the others wordfreq's small lists, about
4 MB each, read at the first question): the language whose frequency list knows the
question's words best, when it knows them clearly better than the corpus's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import wordfreq

from .analyzer import normalize, stopword_list

# The languages a question is recognised in, with wordfreq's codes: those of the readers of
# a corpus on the Americas (English, Spanish, Portuguese).
_CODES = {"english": "en", "spanish": "es", "portuguese": "pt"}
# How much more common, on average per word (Zipf scale: one step is ten times), a
# question's words must be in another language than in the corpus's.
MARGIN = 1.0


def question_language(words: Sequence[str], corpus_language: str, text: str = "") -> str:
    """The language of a question's words (lower-cased): corpus_language unless another
    language known here knows them clearly better, or its text opens with Spanish's
    inverted question or exclamation mark."""
    words = [w for w in words if w.isalpha()]
    if not words or corpus_language not in _CODES:
        return corpus_language
    if text.lstrip().startswith(("¿", "¡")):
        return "spanish"
    scores = {
        language: _mean_zipf(words, code, "best" if language == corpus_language else "small")
        for language, code in _CODES.items()
    }
    best = max(scores, key=scores.__getitem__)
    if best != corpus_language and scores[best] >= scores[corpus_language] + MARGIN:
        return best
    return corpus_language


def zipf(word: str, language: str) -> float:
    """How common a word is in a language at large (Zipf scale; 0 when unknown)."""
    code = _CODES.get(language)
    return wordfreq.zipf_frequency(word, code, wordlist="small") if code else 0.0


@functools.cache
def stop_words(language: str) -> frozenset[str]:
    """A language's stop words, folded as the analyzer folds words."""
    return frozenset(normalize(w) for w in stopword_list(language))


def _mean_zipf(words: Sequence[str], code: str, wordlist: str) -> float:
    return sum(wordfreq.zipf_frequency(w, code, wordlist=wordlist) for w in words) / len(words)
