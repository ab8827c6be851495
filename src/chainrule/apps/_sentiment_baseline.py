"""The sentiment application's baseline: TF-IDF of token n-grams and logistic regression.

The n-grams are the token n-grams the bag model reads (``_text.tokenize``: characters for Chinese,
words and punctuation for English; 1 to ``max_n`` tokens), the usual TF-IDF baseline for each
language; the bag also reads the characters inside English words, which this baseline does not.
scikit-learn's defaults otherwise (L2 penalty, C = 1). When the model reads topics, the baseline
reads them the same way: each n-gram also once more prefixed with its text's topic.
"""

from functools import partial

from chainrule.apps._baselines import logistic_regression, require_sklearn
from chainrule.apps._text import tokenize

__all__ = ["tfidf_logistic_regression", "baseline_name"]


def baseline_name(language, max_n, topics=False):
    """What the baseline reads, e.g. ``"TF-IDF character 1-3-grams + logistic regression"``."""
    unit = "character" if language == "zh" else "word"
    crossed = ", also crossed with the topic," if topics else ""
    return f"TF-IDF {unit} 1-{max_n}-grams{crossed} + logistic regression"


def tfidf_logistic_regression(train_texts, train_labels, test_texts, test_labels, language, max_n, topics=None):
    """Test accuracy of logistic regression on TF-IDF n-gram features fitted on the training texts.

    ``topics``: ``(train topics, test topics)`` to cross the n-grams with, or None.
    """
    require_sklearn("sentiment baseline")
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(tokenizer=partial(tokenize, language=language), lowercase=False,
                                 token_pattern=None, ngram_range=(1, max_n))
    if topics is not None:
        plain = vectorizer.build_analyzer()
        vectorizer = TfidfVectorizer(analyzer=lambda pair: _crossed(plain(pair[1]), pair[0]))
        train_texts, test_texts = list(zip(topics[0], train_texts)), list(zip(topics[1], test_texts))
    train_features = vectorizer.fit_transform(train_texts)
    return logistic_regression(train_features, train_labels, vectorizer.transform(test_texts), test_labels)


def _crossed(grams, topic):
    """The n-grams, the topic (marked, so it cannot be an n-gram), then each n-gram prefixed with the topic.

    >>> _crossed(["good", "good food"], "hotel")
    ['good', 'good food', 'hotel|', 'hotel|good', 'hotel|good food']
    """
    return grams + [f"{topic}|"] + [f"{topic}|{gram}" for gram in grams]
