"""Turning texts into integer ids: tokens, hashed n-gram bags, and token sequences over a vocabulary.

Chinese has no spaces between words, so a Chinese text is read as its characters and their
neighbours (character n-grams stand in for words); an English text is read as lower-cased words
and punctuation marks. Both then go through the same two featurisers:

``NgramHasher``
    Every n-gram of 1 to ``max_n`` tokens, hashed into ``buckets`` ids (fastText's "hashing trick"):
    no vocabulary to store, and n-grams never seen in training still land somewhere. The hash is
    computed from the tokens' codes with integer arithmetic, so it is stable across runs (Python's
    ``hash`` of a str is salted per process).
``Vocabulary``
    The tokens seen at least ``min_count`` times in the training texts, most frequent first, for
    sequence models; id 0 pads and id 1 stands for every other token.

Both can also read each text's *topic* (a product category, say, where the data has one):
``NgramHasher(topics=True)`` adds every token n-gram once more crossed with the topic, and the topic
itself, so the same words can weigh differently by topic ("thin" of a laptop, of a hotel's walls);
a ``Vocabulary`` built with topics puts the topic's own id before each text's tokens.

Both are described by a small dict (``settings()``), kept in the run folder so that prediction
rebuilds exactly the featuriser the model was trained with.
"""

import re
import zlib
from collections import Counter

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["tokenize", "token_codes", "NgramHasher", "Vocabulary", "featurizer_from_settings", "PAD", "UNKNOWN"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
_LANGUAGES = ("zh", "en")

PAD, UNKNOWN = 0, 1


def tokenize(text, language):
    """The tokens of ``text``: its non-space characters ("zh"), or its words and punctuation ("en").

    >>> tokenize("Not bad, really!", "en")
    ['not', 'bad', ',', 'really', '!']
    >>> tokenize("很 好吃", "zh")
    ['很', '好', '吃']
    """
    if language not in _LANGUAGES:
        raise ChainruleError(f"tokenize: unknown language; expected one of {_LANGUAGES}, got {language!r}.")
    text = text.lower()
    if language == "zh":
        return [char for char in text if not char.isspace()]
    return _WORD.findall(text)


def token_codes(tokens):
    """A stable 32-bit code per token (CRC-32 of its UTF-8 bytes), as uint64."""
    return np.array([zlib.crc32(token.encode("utf-8")) for token in tokens], dtype=np.uint64)


# Odd 64-bit multipliers that mix one token's code into an n-gram's hash (a polynomial hash).
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0xC2B2AE3D27D4EB4F)


class NgramHasher:
    """Bags of hashed token n-grams, ready for ``nn.EmbeddingBag(indices, offsets)``.

    Args:
        language: "zh" or "en" (see ``tokenize``).
        max_n: the longest n-gram, in tokens (every length 1..max_n is used).
        buckets: the number of hash ids.
        subwords: ``(shortest, longest)`` character n-grams of each word, marked with ``<`` and ``>``
            at its ends (fastText's subwords: "disappointing" shares "<disap" with "disappointed"),
            hashed into the same ids; None for none. Meant for words, not for Chinese characters.
        chars: ``(shortest, longest)`` character n-grams of the whole text (its tokens joined by single
            spaces), which also span word boundaries ("t bad" from "not bad"), hashed into the same
            ids; None for none. Meant for English.
        words: for Chinese, the longest n-gram of the words jieba finds (``pip install
            'chainrule[zh]'``), read besides the character n-grams ("不好吃" also as 不 | 好吃); None for none.
        topics: ``bags`` then needs a topic per text, and adds the topic and each token n-gram crossed
            with it.

    >>> hasher = NgramHasher("en", max_n=2, buckets=1000)
    >>> indices, offsets = hasher.bags(["good food", "bad"])
    >>> len(indices), offsets.tolist()   # good, food, good_food | bad
    (4, [0, 3])
    """

    def __init__(self, language, max_n, buckets, subwords=None, chars=None, words=None, topics=False):
        if language not in _LANGUAGES or int(max_n) < 1 or int(buckets) < 2 or not all(
                span is None or len(span) == 2 and 1 <= span[0] <= span[1] for span in (subwords, chars)) or not (
                words is None or language == "zh" and int(words) >= 1):
            raise ChainruleError(f"NgramHasher: bad settings; expected language in {_LANGUAGES}, max_n >= 1, "
                                 f"buckets >= 2, subwords and chars None or (shortest, longest) and words None or "
                                 f">= 1 (Chinese only), got {language!r}, {max_n}, {buckets}, {subwords!r}, "
                                 f"{chars!r}, {words!r}.")
        self.language, self.max_n, self.buckets = language, int(max_n), int(buckets)
        self.subwords = None if subwords is None else (int(subwords[0]), int(subwords[1]))
        self.chars = None if chars is None else (int(chars[0]), int(chars[1]))
        self.words = None if words is None else int(words)
        self.topics = bool(topics)
        self._segmented = {}  # text -> its jieba words, so repeated featurising segments each text once

    def settings(self):
        return {"kind": "ngram-hasher", "language": self.language, "max_n": self.max_n, "buckets": self.buckets,
                "subwords": None if self.subwords is None else list(self.subwords),
                "chars": None if self.chars is None else list(self.chars), "words": self.words,
                "topics": self.topics}

    def bags(self, texts, topics=None):
        """``(indices, offsets)``: the n-gram ids of every text, concatenated, and where each text's start.

        A text without tokens gets an empty bag (the model sees zeros for it). ``topics``: one str per
        text, needed (and read) when the hasher was made with ``topics=True``.
        """
        topic_codes = self._topic_codes(texts, topics)
        token_lists = [tokenize(text, self.language) for text in texts]
        lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.int64)
        codes = token_codes([token for tokens in token_lists for token in tokens])
        text_of = np.repeat(np.arange(len(texts)), lengths)
        ids, owners = [], []
        gram = np.zeros(len(codes), dtype=np.uint64)
        with np.errstate(over="ignore"):  # the hash relies on uint64 arithmetic wrapping around
            for n in range(1, self.max_n + 1):
                count = len(codes) - n + 1
                if count <= 0:
                    break
                gram = gram[:count] * _MIX + codes[n - 1:] + _SALT
                same_text = text_of[:count] == text_of[n - 1:]
                mixed = gram[same_text] ^ (gram[same_text] >> np.uint64(29))
                ids.append((mixed % np.uint64(self.buckets)).astype(np.int64))
                owners.append(text_of[:count][same_text])
                if topic_codes is not None:
                    crossed = (mixed + topic_codes[owners[-1]]) * _MIX
                    ids.append(((crossed ^ (crossed >> np.uint64(29))) % np.uint64(self.buckets)).astype(np.int64))
                    owners.append(owners[-1])
        if topic_codes is not None:
            ids.append(self._hashed(list(topics), "^"))
            owners.append(np.arange(len(texts)))
        extras = [(self.subwords, self._subword_ids, token_lists), (self.chars, self._char_ids, token_lists),
                  (self.words, self._word_ids, self._segment(texts) if self.words is not None else None)]
        for wanted, pieces_of, units in extras:
            if wanted is None:
                continue
            pieces = [pieces_of(tokens) for tokens in units]
            ids.append(np.concatenate(pieces + [np.zeros(0, np.int64)]))
            owners.append(np.repeat(np.arange(len(texts)), [len(piece) for piece in pieces]))
        ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        owners = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        order = np.argsort(owners, kind="stable")
        counts = np.bincount(owners, minlength=len(texts))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return ids[order], offsets

    def _topic_codes(self, texts, topics):
        """Each text's topic code (uint64), or None when the hasher does not read topics."""
        if not self.topics:
            return None
        if topics is None or len(topics) != len(texts):
            raise ChainruleError(f"NgramHasher: this hasher reads topics; expected one topic per text "
                                 f"({len(texts)}), got {'none' if topics is None else len(topics)}.")
        return token_codes(["^" + str(topic) for topic in topics])

    def _subword_ids(self, tokens):
        shortest, longest = self.subwords
        grams = []
        for token in tokens:
            if not token.isalpha():
                continue
            marked = f"<{token}>"
            grams += [marked[start:start + n] for n in range(shortest, longest + 1)
                      for start in range(len(marked) - n + 1)]
        return self._hashed(grams, "#")

    def _char_ids(self, tokens):
        shortest, longest = self.chars
        line = f" {' '.join(tokens)} "
        return self._hashed([line[start:start + n] for n in range(shortest, longest + 1)
                             for start in range(len(line) - n + 1)], "~")

    def _word_ids(self, words):
        return self._hashed(["\x1f".join(words[start:start + n]) for n in range(1, self.words + 1)
                             for start in range(len(words) - n + 1)], "@")

    def _segment(self, texts):
        """Each text's Chinese words (jieba's segmentation), white space left out."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._segmented]
        if missing:
            cut = _jieba_cut()
            for text in missing:
                self._segmented[text] = [word for word in cut(text.lower()) if not word.isspace()]
        return [self._segmented[text] for text in texts]

    def _hashed(self, grams, prefix):
        # a prefix keeps these apart from whole tokens spelled the same ("<a>" vs "a") and from each other
        codes = token_codes([prefix + gram for gram in grams])
        return ((codes * _MIX) >> np.uint64(16)).astype(np.int64) % self.buckets  # arrays wrap silently


def _jieba_cut():
    """jieba's word segmenter (an optional dependency: the ``zh`` extra), quietly initialised."""
    try:
        import jieba
    except ImportError:
        raise ChainruleError("NgramHasher: Chinese word n-grams need jieba; expected it installed, got an "
                             "ImportError (pip install 'chainrule[zh]').") from None
    jieba.setLogLevel(60)
    return jieba.lcut


class Vocabulary:
    """Token ids for sequence models: the training tokens seen ``min_count`` times or more.

    With ``topics`` (the training texts' topics), each text's ids start with its topic's id, which
    comes after the tokens' ids; an unknown topic reads as UNKNOWN.

    >>> vocabulary = Vocabulary.build(["good good food", "bad food"], "en", min_count=2)
    >>> vocabulary.tokens                   # ids 2 and 3; "bad" (seen once) becomes UNKNOWN
    ['food', 'good']
    >>> vocabulary.sequences(["good bad food", "food"], max_length=4).tolist()
    [[3, 1, 2], [2, 0, 0]]
    >>> Vocabulary("en", ["food"], topics=["hotel", "shop"]).ids("food", 4, topic="shop")
    [4, 2]
    """

    def __init__(self, language, tokens, topics=None):
        self.language, self.tokens = language, list(tokens)
        self.topics = None if topics is None else list(topics)
        self.index = {token: position + 2 for position, token in enumerate(self.tokens)}
        self.topic_index = {topic: position + len(self.tokens) + 2 for position, topic in enumerate(self.topics or [])}

    @classmethod
    def build(cls, texts, language, min_count=2, max_size=50000, topics=None):
        counts = Counter(token for text in texts for token in tokenize(text, language))
        frequent = sorted((token for token, count in counts.items() if count >= min_count),
                          key=lambda token: (-counts[token], token))
        return cls(language, frequent[:max_size], None if topics is None else sorted(set(topics)))

    def __len__(self):
        """The number of ids, padding, unknown and topics included."""
        return len(self.tokens) + 2 + len(self.topic_index)

    def settings(self):
        return {"kind": "vocabulary", "language": self.language, "tokens": self.tokens, "topics": self.topics}

    def ids(self, text, max_length, topic=None):
        """The ids of the first ``max_length`` tokens of ``text``, after its topic's id when the vocabulary
        reads topics; an empty text is one unknown token."""
        ids = [self.index.get(token, UNKNOWN) for token in tokenize(text, self.language)][:max_length] or [UNKNOWN]
        if self.topics is None:
            return ids
        if topic is None:
            raise ChainruleError(f"Vocabulary: this vocabulary reads topics; expected a topic for the text, got "
                                 f"none (known topics: {self.topics}).")
        return [self.topic_index.get(topic, UNKNOWN)] + ids

    def sequences(self, texts, max_length, topics=None):
        """(len(texts), L) int64 ids, L the longest text up to ``max_length``, padded with 0 at the end."""
        rows = [self.ids(text, max_length, None if topics is None else topics[row]) for row, text in enumerate(texts)]
        out = np.full((len(rows), max(len(row) for row in rows)), PAD, dtype=np.int64)
        for row, ids in zip(out, rows):
            row[:len(ids)] = ids
        return out


def featurizer_from_settings(settings):
    """Rebuild an ``NgramHasher`` or a ``Vocabulary`` from its ``settings()`` dict."""
    kind = settings.get("kind")
    if kind == "ngram-hasher":
        return NgramHasher(settings["language"], settings["max_n"], settings["buckets"], settings.get("subwords"),
                           settings.get("chars"), settings.get("words"), settings.get("topics", False))
    if kind == "vocabulary":
        return Vocabulary(settings["language"], settings["tokens"], settings.get("topics"))
    raise ChainruleError(f"featurizer_from_settings: unknown featuriser; expected kind 'ngram-hasher' or "
                         f"'vocabulary', got {kind!r}.")
