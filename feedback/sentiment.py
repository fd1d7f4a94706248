"""Sentiment of what a customer wrote: a compound score in [-1, 1] and its label.

The score is VADER's (``vaderSentiment``): a lexicon and rules tuned on short English social
media text, with no model to download and no network. Its last release is from 2020, but the
lexicon is data, not code that rots, and nothing maintained does as much in pure Python at
well under a millisecond a message. What it cannot do: languages other than English (a French
or German complaint mostly scores neutral), sarcasm, and domain words it does not know ("the
export is slow" scores neutral). The label uses the thresholds VADER's authors recommend.

No Django here: ``feedback.services.sentiment`` stores the scores, in a task after the commit,
because scoring costs about as much as a fifth of parsing a mail.
"""

import threading

# The labels, as ``feedback.models.Sentiment`` stores them (this module imports no Django).
POSITIVE = "positive"
NEUTRAL = "neutral"
NEGATIVE = "negative"

# VADER's recommended thresholds on the compound score.
POSITIVE_FROM = 0.05
NEGATIVE_TO = -0.05
# Only the beginning is scored: VADER's cost grows with the text, and a long mail's tone is
# set by its first paragraphs (quoted history is not part of ``Message.text``).
MAX_SCORED_CHARS = 5_000

_analyzer = None
_analyzer_lock = threading.Lock()


def _get_analyzer():
    """The analyzer, built once per process on first use (it reads its lexicon from disk,
    which takes a good part of a second): importing this module costs nothing."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def label(compound: float) -> str:
    """The label of a compound score."""
    if compound >= POSITIVE_FROM:
        return POSITIVE
    if compound <= NEGATIVE_TO:
        return NEGATIVE
    return NEUTRAL


def score(text: str) -> tuple[float, str]:
    """``(compound, label)`` of ``text``; empty text is neutral (0.0)."""
    text = (text or "")[:MAX_SCORED_CHARS].strip()
    if not text:
        return 0.0, NEUTRAL
    compound = float(_get_analyzer().polarity_scores(text)["compound"])
    return compound, label(compound)
