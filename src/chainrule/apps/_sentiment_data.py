"""Reading labelled review corpora for the sentiment application, whatever their format.

Three layouts are recognised from the path alone, so ``--data`` needs no format option:

``*.csv`` with a ``label,review`` header
    e.g. waimai_10k.csv (Chinese food-delivery reviews).
``*.zip`` holding one such CSV, possibly with a ``cat`` column first
    e.g. online_shopping_10_cats.zip (Chinese e-commerce reviews in ten categories).

A ``cat`` column, where a table has one, is read as each review's *topic* (its product category):
``--topics`` lets the models read it beside the text.
``*.txt`` of ``sentence<TAB>label`` lines, or a folder of them
    e.g. the UCI "Sentiment Labelled Sentences" (``*_labelled.txt``; other .txt files in the folder,
    such as its readme, are left out). Lines are cut at ``"\\n"`` only: some sentences hold U+0085,
    which ``str.splitlines`` would take for a line break.

Every corpus is cleaned the same way before any split, and the counts are kept for metrics.json:
a leading byte order mark and surrounding white space are stripped, empty texts dropped, texts
that occur with both labels dropped (their label is noise), and repeated texts kept once (with the
topic of their first row), so that no test text also sits in the training rows.

``with_extra`` adds the labelled texts of other corpora (``--extra-data``) after a corpus's own, for
training only: they are never validation or test rows, and a text the corpus itself holds is dropped
from them, so none can leak into a test.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["Corpus", "load_corpus", "clean_corpus", "language_of", "with_extra"]

_LABEL_COLUMN, _TEXT_COLUMN, _TOPIC_COLUMN = "label", "review", "cat"


@dataclass
class Corpus:
    """Cleaned texts and their 0/1 labels, the language they are in, and what cleaning removed.

    Attributes:
        name: the file or folder name, for reports.
        texts: list of str, each distinct.
        labels: int64 array, 1 positive and 0 negative.
        language: "zh" (featurised by characters) or "en" (by words).
        cleaning: counts of rows read and of rows dropped, and why.
        sources: the names of the files read, in order.
        topics: list of str, each text's topic (its table's ``cat`` column), or None without one.
        training_only: how many of the last texts come from other corpora (``with_extra``), to train
            on and never to validate or test on; the corpus's own texts are the first ``own`` ones.
    """
    name: str
    texts: list
    labels: np.ndarray
    language: str
    cleaning: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)
    topics: list = None
    training_only: int = 0

    @property
    def own(self):
        """The number of the corpus's own texts (the rows to split into training, validation and test)."""
        return len(self.texts) - self.training_only

    @property
    def extra_rows(self):
        """The rows of the texts from other corpora, to train on only."""
        return np.arange(self.own, len(self.texts))


def with_extra(corpus, extras, by_category=False):
    """``corpus`` followed by the texts of the corpora ``extras`` that it does not hold itself, to train on.

    Every text gets a topic, so the models can tell what holds in every corpus from what holds in one:
    its corpus's name (an extra corpus whose file name an earlier one has gets " #2", " #3"... by its
    place), or with ``by_category`` its table's category (``cat`` column), where a corpus without
    one falls back to its name. ``corpus.cleaning["extra data"]`` counts, per extra corpus, the texts
    kept and those dropped because an earlier corpus holds them.

    Raises:
        ChainruleError: an extra corpus in another language than ``corpus``.
    """
    seen, names, counts = set(corpus.texts), [corpus.name], []
    texts, labels, topics = list(corpus.texts), [corpus.labels], _topics_of(corpus, corpus.name, by_category)
    for extra in extras:
        if extra.language != corpus.language:
            raise ChainruleError(f"sentiment: extra data in another language; expected {corpus.language!r} texts "
                                 f"like {corpus.name!r}, got {extra.language!r} texts in {extra.name!r}.")
        rows = [row for row, text in enumerate(extra.texts) if text not in seen]
        names.append(extra.name if extra.name not in names else f"{extra.name} #{len(names) + 1}")
        extra_topics = _topics_of(extra, names[-1], by_category)
        texts += [extra.texts[row] for row in rows]
        labels.append(extra.labels[rows])
        topics += [extra_topics[row] for row in rows]
        seen.update(extra.texts)
        counts.append({"data": names[-1], "texts kept": len(rows),
                       "texts dropped (held by an earlier corpus)": len(extra.texts) - len(rows)})
    cleaning = {**corpus.cleaning, "extra data": counts}
    return Corpus(corpus.name, texts, np.concatenate(labels), corpus.language, cleaning, corpus.sources, topics,
                  training_only=len(texts) - len(corpus.texts))


def _topics_of(corpus, name, by_category):
    if by_category and corpus.topics is not None:
        return list(corpus.topics)
    return [name] * len(corpus.texts)


def load_corpus(path, owner="sentiment"):
    """Read and clean the labelled texts at ``path`` (a CSV, a zipped CSV, a TSV .txt or a folder of them).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ChainruleError: a path in none of the known layouts, or rows that cannot be read.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{owner}: cannot read {str(path)!r}; expected an existing file or folder, "
                                f"got no such path.")
    sources, topics = [path.name], None
    if path.is_dir():
        texts, labels, sources = _read_tsv_folder(path, owner)
    elif path.suffix.lower() == ".zip":
        texts, labels, topics = _read_zip(path, owner)
    elif path.suffix.lower() == ".csv":
        texts, labels, topics = _read_csv(path.read_bytes(), str(path), owner)
    elif path.suffix.lower() in (".txt", ".tsv"):
        texts, labels = _read_tsv(path, owner)
    else:
        raise ChainruleError(f"{owner}: cannot read {str(path)!r}; expected a .csv with a 'label,review' header, "
                             f"a .zip holding one, a .txt of 'sentence<TAB>label' lines or a folder of those, "
                             f"got a {path.suffix or 'suffix-less'} file.")
    texts, labels, cleaning, topics = clean_corpus(texts, labels, topics)
    if len(texts) < 2 or len(set(labels.tolist())) < 2:
        raise ChainruleError(f"{owner}: {str(path)!r} has too little data; expected texts of both labels 0 and 1, "
                             f"got {len(texts)} usable texts with labels {sorted(set(labels.tolist()))}.")
    return Corpus(path.name, texts, labels, language_of(texts), cleaning, sources, topics)


def clean_corpus(texts, labels, topics=None):
    """Strip, drop empty texts and texts with both labels, keep each text once (first order kept).

    Returns ``(texts, labels, cleaning counts, topics)``; a kept text has the topic of its first row
    (topics None stays None).

    >>> clean_corpus(["\\ufeffgood ", "bad", "good", "odd", "odd", ""], [1, 0, 1, 1, 0, 1])[:2]
    (['good', 'bad'], array([1, 0]))
    """
    texts = [text.replace("\ufeff", "").strip() for text in texts]
    labels_of, topic_of = {}, {}
    for row, (text, label) in enumerate(zip(texts, labels)):
        if text:
            labels_of.setdefault(text, set()).add(int(label))
            topic_of.setdefault(text, None if topics is None else topics[row])
    kept = [(text, labels_of[text].pop()) for text in labels_of if len(labels_of[text]) == 1]
    empty = sum(1 for text in texts if not text)
    cleaning = {"rows read": len(texts), "empty texts dropped": empty,
                "repeated rows dropped": len(texts) - empty - len(labels_of),
                "texts with both labels dropped": len(labels_of) - len(kept), "texts kept": len(kept)}
    kept_topics = None if topics is None else [topic_of[text] for text, _ in kept]
    return [text for text, _ in kept], np.array([label for _, label in kept], dtype=np.int64), cleaning, kept_topics


def language_of(texts):
    """"zh" when at least a fifth of the letters are CJK ideographs, else "en"."""
    sample = "".join(texts[:2000])
    letters = sum(1 for char in sample if char.isalpha())
    ideographs = sum(1 for char in sample if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf")
    return "zh" if letters and ideographs >= 0.2 * letters else "en"


def _label(value, where, owner):
    value = value.strip()
    if value not in ("0", "1"):
        raise ChainruleError(f"{owner}: bad label at {where}; expected 0 or 1, got {value!r}.")
    return int(value)


def _read_csv(data, name, owner):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChainruleError(f"{owner}: {name!r} is not UTF-8 text; expected UTF-8, got {exc.reason} at byte "
                             f"{exc.start}.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [column.strip().lstrip("\ufeff") for column in next(reader, [])]
    if _LABEL_COLUMN not in header or _TEXT_COLUMN not in header:
        raise ChainruleError(f"{owner}: {name!r} is not a review table; expected a header with the columns "
                             f"'{_LABEL_COLUMN}' and '{_TEXT_COLUMN}', got {header}.")
    label_at, text_at = header.index(_LABEL_COLUMN), header.index(_TEXT_COLUMN)
    topic_at = header.index(_TOPIC_COLUMN) if _TOPIC_COLUMN in header else None
    texts, labels, topics = [], [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {reader.line_num} of {name!r}"
        if len(row) <= label_at:
            raise ChainruleError(f"{owner}: {where} has too few columns; expected {len(header)}, got {row!r}.")
        labels.append(_label(row[label_at], where, owner))
        texts.append(row[text_at] if len(row) > text_at else "")
        if topic_at is not None:
            topics.append(row[topic_at].strip() if len(row) > topic_at else "")
    return texts, labels, (topics if topic_at is not None else None)


def _read_zip(path, owner):
    try:
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
            if len(members) != 1:
                raise ChainruleError(f"{owner}: {str(path)!r} is not a zipped review table; expected exactly one "
                                     f".csv inside, got {members or archive.namelist()}.")
            data = archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise ChainruleError(f"{owner}: cannot read {str(path)!r}; expected a zip archive, got {exc}.") from None
    return _read_csv(data, f"{path.name}/{members[0]}", owner)


def _read_tsv(path, owner):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChainruleError(f"{owner}: {str(path)!r} is not UTF-8 text; expected UTF-8, got {exc.reason} at byte "
                             f"{exc.start}.") from None
    texts, labels = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        parts = line.rstrip("\r").rsplit("\t", 1)
        if len(parts) != 2:
            raise ChainruleError(f"{owner}: line {number} of {str(path)!r} is not 'sentence<TAB>label'; expected a "
                                 f"tab before a 0/1 label, got {line[:60]!r}.")
        labels.append(_label(parts[1], f"line {number} of {str(path)!r}", owner))
        texts.append(parts[0])
    return texts, labels


def _read_tsv_folder(path, owner):
    files = sorted(path.glob("*_labelled.txt")) or sorted(path.glob("*.tsv"))
    if not files:
        raise ChainruleError(f"{owner}: cannot read the folder {str(path)!r}; expected files of "
                             f"'sentence<TAB>label' lines named *_labelled.txt or *.tsv, got "
                             f"{sorted(p.name for p in path.iterdir())[:10]}.")
    texts, labels = [], []
    for file in files:
        more_texts, more_labels = _read_tsv(file, owner)
        texts += more_texts
        labels += more_labels
    return texts, labels, [file.name for file in files]
