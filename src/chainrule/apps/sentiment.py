"""Sentiment of reviews: positive or negative, for Chinese reviews and English sentences.

Five choices of ``--model``, each model trained with Adam and early stopping on a validation split:

``bag`` (default)
    fastText's classifier: the mean of the embeddings of a text's hashed n-grams (characters 1-3
    for Chinese, which has no spaces between words, and with ``--words N`` also the 1..N-grams of the
    words jieba finds (the ``zh`` extra); for English words 1-2, the character 2-5-grams
    inside each word and the character 3-6-grams of the whole text, spaces included, which also
    span word boundaries), one ``nn.EmbeddingBag`` lookup, and a linear layer. While training,
    each n-gram is left out of its bag with chance 0.3 (a regulariser).
``nb``
    The same bag with each n-gram's embedding scaled, before the mean, by its naive Bayes log-count
    ratio on the training texts (fixed; NBSVM's features): n-grams that separate the classes weigh
    more from the start. The strongest single model on short English sentences.
``gru``
    Token embeddings read by a bidirectional GRU, mean- and max-pooled, and a linear layer.
``cnn``
    Kim's TextCNN: token embeddings, convolutions 2, 3 and 4 tokens wide, max-over-time pooling,
    dropout and a linear layer.
``ensemble``
    Several of the above (``--members``; nb, cnn and gru by default), each trained on the same rows
    with its own early stopping on the same validation rows; the mean of their probabilities.

The data (``--data``) is any of the layouts ``_sentiment_data`` reads: a ``label,review`` CSV
(waimai_10k), a zip holding one (online_shopping_10_cats), a ``sentence<TAB>label`` file or a folder
of them (the UCI Sentiment Labelled Sentences). Before any split, texts are stripped, empty ones
dropped, texts that carry both labels dropped and repeated texts kept once, so no test text is also
a training text; metrics.json lists what was dropped.

``--topics`` lets every model read each review's topic beside its text, where the table has a
``cat`` column (online_shopping_10_cats: the product category). The bags then also hold each
n-gram crossed with the topic, so a phrase can weigh differently for a hotel and for a phone; the
sequence models read the topic as a first token; the baseline gets the same crossed n-grams.
``chainrule predict sentiment --topic 酒店 "..."`` then names the topic of the texts it classifies.

``--extra-data PATH`` (repeatable) adds the labelled texts of other corpora to the training rows:
e.g. online-shopping reviews when the corpus is food-delivery reviews. They never become validation
or test rows, and a text of the corpus itself is dropped from them. Every text is marked with the
corpus it comes from (or with ``--topics``, its category), read like a topic, so the models learn
which n-grams mean the same everywhere and which only in one corpus (feature augmentation, as in
Daumé's "frustratingly easy" domain adaptation); the baseline trains on the same texts, crossed the
same way. Prediction marks new texts as the corpus's own.

``--adversarial EPSILON`` trains the sequence models (gru, cnn) with ``chainrule.train.AdversarialTrainer``:
each batch a second time with its token embeddings moved EPSILON along the loss's gradient (Miyato
et al.'s adversarial training for text), which about doubles their training time. The bags read
hashed n-grams from tables of hundreds of thousands of rows and are trained as before.

Evaluation: a stratified held-out 20% for corpora of 5,000 texts or more; 10-fold stratified
cross-validation below that (the mean and the spread over the folds). The baseline, TF-IDF of the
same token n-grams and logistic regression, is fitted and tested on the same rows. In every case 10% of
the training rows are set aside for early stopping; metrics.json also gives the
accuracy on those validation rows (``validation_accuracy``; with cross-validation, its mean over the
folds), the number to tune settings on.

The run folder keeps ``sentiment.json`` (the model and featuriser settings, the vocabulary of the
sequence models; each member's for an ensemble) beside ``checkpoint.npz``, so
``chainrule predict sentiment "这家店的菜很好吃"`` rebuilds both.
"""

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure
from chainrule.apps._sentiment_baseline import baseline_name, tfidf_logistic_regression
from chainrule.apps._sentiment_data import load_corpus, with_extra
from chainrule.apps._sentiment_fit import epochs_of, fit, histories, load, probabilities, save, split_validation
from chainrule.apps._sentiment_models import MODELS
from chainrule.data import stratified_split
from chainrule.errors import ChainruleError
from chainrule.train import ProgressBar, metrics

__all__ = ["SUMMARY", "add_arguments", "train", "held_out_split", "add_predict_arguments", "predict", "TARGETS"]

SUMMARY = "positive or negative reviews, Chinese or English: an n-gram bag, a TextCNN, a GRU or their ensemble"

LABELS = ("negative", "positive")
SMALL_CORPUS = 5000
DEFAULTS = {"bag": {"epochs": 10, "lr": 2e-3, "batch_size": 32, "dim": 16},
            "gru": {"epochs": 8, "lr": 3e-3, "batch_size": 64, "dim": 64},
            "nb": {"epochs": 10, "lr": 2e-3, "batch_size": 32, "dim": 16},
            "cnn": {"epochs": 10, "lr": 1e-3, "batch_size": 64, "dim": 64}}
GRU_HIDDEN, CNN_FILTERS, MAX_TOKENS = 64, 100, 200
ENGLISH_SUBWORDS = (2, 5)  # character n-grams of English words the bag reads besides the words
ENGLISH_CHARS = (3, 6)  # character n-grams of the whole English text, across word boundaries ("t goo")
UCI_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
#: accuracy targets of the known corpora (held-out 20%, or the cross-validation mean for UCI).
TARGETS = {"waimai_10k.csv": 0.92, "online_shopping_10_cats.zip": 0.94, UCI_FILES: 0.85}
SETTINGS_FILE = "sentiment.json"
ENSEMBLE = ("nb", "cnn", "gru")  # the default members of --model ensemble
SEQUENCE_MODELS = ("gru", "cnn")  # the models that look up token embeddings (--adversarial nudges them)
CHOICES = MODELS + ("ensemble",)
CLEANING_RULE = ("before any split: byte order marks and surrounding white space stripped, empty texts dropped, "
                 "texts that carry both labels dropped, each repeated text kept once")


def add_arguments(parser):
    """``chainrule train sentiment --data PATH`` options."""
    parser.add_argument("--model", choices=CHOICES, default="bag",
                        help="bag: fastText-like n-gram EmbeddingBag (default); gru: bidirectional GRU; cnn: "
                             "TextCNN; nb: the bag with naive Bayes weighted n-grams; ensemble: the mean "
                             "probability of several of them (--members)")
    parser.add_argument("--members", default=None,
                        help=f"the models an ensemble averages, comma-separated (default {','.join(ENSEMBLE)})")
    parser.add_argument("--epochs", type=int, default=None,
                        help="most epochs (default 10 bag, nb and cnn, 8 gru); an ensemble gives a set value, "
                             "like the next three, to every member")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam's learning rate (default 2e-3 bag and nb, 3e-3 gru, 1e-3 cnn)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="texts per batch (default 32 bag and nb, 64 gru and cnn)")
    parser.add_argument("--dim", type=int, default=None, help="embedding size (default 16 bag and nb, 64 gru and cnn)")
    parser.add_argument("--max-n", type=int, default=None,
                        help="longest n-gram (default 3 characters for Chinese, 2 words for English)")
    parser.add_argument("--words", type=int, default=None,
                        help="Chinese only: the bag also reads the 1..N-grams of the words jieba finds (needs "
                             "pip install 'chainrule[zh]'); default none, characters only")
    parser.add_argument("--buckets", type=int, default=None,
                        help="hashed n-gram ids of the bag (default 2^18 for Chinese, 2^17 for English)")
    parser.add_argument("--folds", type=int, default=None,
                        help=f"cross-validation folds (default 10 under {SMALL_CORPUS:,} texts, else a "
                             f"held-out 20%%); 0 forces the held-out split")
    parser.add_argument("--limit", type=int, default=None,
                        help="use a stratified sample of this many texts (and as many of each --extra-data)")
    parser.add_argument("--patience", type=int, default=2, help="epochs without a better validation loss "
                                                               "before stopping (default 2)")
    parser.add_argument("--topics", action="store_true",
                        help="the models also read each review's topic, the table's 'cat' column (e.g. the "
                             "product category); predict then needs --topic")
    parser.add_argument("--extra-data", action="append", default=None, metavar="PATH",
                        help="more labelled texts from another corpus, in any layout --data reads, to train on "
                             "(never to validate or test on); repeat for several")
    parser.add_argument("--adversarial", type=float, default=0.0, metavar="EPSILON",
                        help="the sequence models (gru, cnn) also train on each batch with their token "
                             "embeddings moved EPSILON along the loss's gradient (adversarial training; about "
                             "twice their training time); default 0, off")


def train(out="runs/sentiment", data=None, seed=0, model="bag", members=None, epochs=None, lr=None, batch_size=None,
          dim=None, max_n=None, words=None, buckets=None, folds=None, limit=None, patience=2, topics=False,
          extra_data=None, adversarial=0.0, progress=None):
    """Train and evaluate a sentiment classifier on ``data``; write the run folder ``out``.

    Args:
        out: the run folder (metrics.json, sentiment.json, checkpoint.npz, learning curves, confusion matrix).
        data: a review CSV, a zip holding one, a ``sentence<TAB>label`` .txt or a folder of them.
        model: "bag", "nb", "gru", "cnn" or "ensemble" (the mean probability of its ``members``).
        members: an ensemble's models, a comma-separated string or a sequence; None: ``ENSEMBLE``.
        epochs, lr, batch_size, dim: training settings; None takes the model's default (``DEFAULTS``).
        max_n: the longest n-gram of the bag and of the baseline; None: 3 (Chinese) or 2 (English).
        words: Chinese only: the bag (bag, nb) also reads the 1..``words``-grams of jieba's words; None: none.
        buckets: hashed n-gram ids of the bag; None: 2^18 (Chinese) or 2^17 (English, fewer distinct n-grams).
        folds: cross-validation folds; None chooses (10 for small corpora), 0 a held-out 20%.
        limit: train and test on a stratified sample of this many texts, and as many of each extra
            corpus (quick checks).
        patience: early stopping's patience, in epochs.
        topics: every model also reads each text's topic (the table's ``cat`` column).
        extra_data: paths of other labelled corpora whose texts join the training rows only (see the
            module's docstring); each text then also carries its corpus (with ``topics``, its
            category) as its topic.
        adversarial: the sequence models (gru, cnn) also train on each batch with their token embeddings
            moved this far along the loss's gradient (``chainrule.train.AdversarialTrainer``); 0: off.
        progress: a ProgressBar for the training runs, False for none; None: the default bar.
    """
    if data is None:
        raise ChainruleError("train sentiment: no data; expected --data PATH (a label,review .csv, a .zip "
                             "holding one, a sentence<TAB>label .txt or a folder of them), got none.")
    if model not in CHOICES:
        raise ChainruleError(f"train sentiment: unknown model; expected one of {CHOICES}, got {model!r}.")
    members = _members(model, members)
    watch = Stopwatch()
    cr.manual_seed(seed)
    corpus = load_corpus(data, owner="train sentiment")
    if limit is not None:
        corpus = _sample(corpus, limit, seed)
    given = {key: value for key, value in dict(epochs=epochs, lr=lr, batch_size=batch_size, dim=dim).items()
             if value is not None}
    settings = {member: {**DEFAULTS[member], **given} for member in members}
    if adversarial:
        nudged = [member for member in members if member in SEQUENCE_MODELS]
        if not adversarial > 0 or not nudged:
            raise ChainruleError(f"train sentiment: bad --adversarial; expected a step > 0 for a model with token "
                                 f"embeddings ({', '.join(SEQUENCE_MODELS)}), got {adversarial} for {members}.")
        for member in nudged:
            settings[member]["adversarial"] = float(adversarial)
    if words is not None and (corpus.language != "zh" or int(words) < 1):
        raise ChainruleError(f"train sentiment: bad --words; expected a positive number of words for a Chinese "
                             f"corpus, got {words} for a corpus in {corpus.language!r}.")
    if topics and corpus.topics is None:
        raise ChainruleError(f"train sentiment: --topics needs a topic per review; expected a table with a "
                             f"'cat' column, got {corpus.name!r} without one.")
    own_topic = None
    if extra_data:
        extras = [load_corpus(path, owner="train sentiment") for path in extra_data]
        if limit is not None:
            extras = [_sample(extra, limit, seed) for extra in extras]
        corpus = with_extra(corpus, extras, by_category=topics)
        own_topic = None if topics else corpus.name
    known_topics = sorted(set(corpus.topics)) if topics or extra_data else None
    configs = [_config(corpus.language, member, settings[member]["dim"], max_n, buckets, words, known_topics,
                       own_topic) for member in members]
    config = configs[0] if model != "ensemble" else {"model": model, "members": configs, "labels": list(LABELS),
                                                     "max_n": configs[0]["max_n"], "buckets": configs[0]["buckets"],
                                                     "topics": known_topics, "own_topic": own_topic}
    folds = (10 if corpus.own < SMALL_CORPUS else 0) if folds is None else int(folds)
    if folds == 1 or folds < 0 or folds > corpus.own // 2:
        raise ChainruleError(f"train sentiment: bad --folds; expected 0 (held-out split) or "
                             f"2..{corpus.own // 2}, got {folds}.")
    bar = (lambda: None) if progress is False else (lambda: progress or ProgressBar())
    trainer_options = dict(settings=settings, patience=patience, seed=seed, bar=bar)
    folder = RunFolder(out)
    if folds:
        report = _cross_validate(corpus, config, folds, trainer_options)
    else:
        report = _held_out(corpus, config, trainer_options)
    fitted = report.pop("fitted")
    save(fitted, folder.checkpoint, folder / SETTINGS_FILE)
    files = {"checkpoint": str(folder.checkpoint), "settings": str(folder / SETTINGS_FILE),
             **{("learning_curves" if len(members) == 1 else f"learning_curves_{name}"): str(folder.learning_curves(
                 history, name="learning_curves.png" if len(members) == 1 else f"learning_curves_{name}.png"))
                for name, history in histories(fitted).items()},
             "confusion_matrix": str(folder.confusion_matrix(np.array(report["confusion_matrix"]), list(LABELS)))}
    command = command_line("sentiment", data=str(data), seed=seed, model=model,
                           members=",".join(members) if model == "ensemble" else None, epochs=epochs, lr=lr,
                           batch_size=batch_size, dim=dim, max_n=max_n, words=words, buckets=buckets, folds=folds,
                           limit=limit, patience=None if patience == 2 else patience, topics=bool(topics),
                           extra_data=[str(path) for path in extra_data or ()] or None, adversarial=adversarial or None)
    files["metrics"] = str(folder.write_metrics("sentiment", {
        "command": command, "seed": seed, "seconds": watch.seconds, "data": corpus.name,
        "sources": corpus.sources, "language": corpus.language, "cleaning": corpus.cleaning,
        "cleaning_rule": CLEANING_RULE,
        "model": config["model"], "settings": {**(settings[model] if len(members) == 1 else settings),
                                               "max_n": config["max_n"], "words": words,
                                               "buckets": config["buckets"], "patience": patience,
                                               "topics": known_topics,
                                               "extra_data": [Path(path).name for path in extra_data or ()]},
        **report}))
    return AppResult(metrics=report, lines=report.pop("lines"), files=files)


def _members(model, members):
    """The models to train: ``(model,)``, or an ensemble's members (two or more different models)."""
    if model != "ensemble":
        if members is not None:
            raise ChainruleError(f"train sentiment: --members is for --model ensemble; got it with --model {model}.")
        return (model,)
    chosen = ENSEMBLE if members is None else tuple(
        name.strip() for name in (members.split(",") if isinstance(members, str) else members))
    if len(chosen) < 2 or len(set(chosen)) < len(chosen) or not set(chosen) <= set(MODELS):
        raise ChainruleError(f"train sentiment: bad --members; expected two or more different models of "
                             f"{MODELS}, comma-separated, got {members!r}.")
    return chosen


def _config(language, model, dim, max_n, buckets, words=None, topics=None, own_topic=None):
    """What a model and its featuriser need, kept in sentiment.json (the GRU adds its vocabulary size).

    ``topics``: the training data's topics, when the model reads them (None when it does not).
    ``own_topic``: the topic of the corpus's own texts when extra data marks each text with its
    corpus (prediction gives it to new texts); None otherwise.
    """
    chinese = language == "zh"
    return {"model": model, "language": language, "dim": dim, "max_n": max_n or (3 if chinese else 2),
            "buckets": int(buckets or (2 ** 18 if chinese else 2 ** 17)),
            "subwords": None if chinese else ENGLISH_SUBWORDS,
            "chars": None if chinese else ENGLISH_CHARS, "words": words, "hidden": GRU_HIDDEN, "filters": CNN_FILTERS,
            "max_tokens": MAX_TOKENS, "topics": topics, "own_topic": own_topic,
            "labels": list(LABELS)}


def _target(corpus):
    return TARGETS.get(tuple(corpus.sources)) or TARGETS.get(corpus.name)


def _sample(corpus, limit, seed):
    if not 4 <= limit < len(corpus.texts):
        return corpus
    _, rows = stratified_split(corpus.labels, test_size=int(limit), seed=seed)
    rows = np.sort(rows)
    corpus.texts = [corpus.texts[row] for row in rows]
    corpus.labels = corpus.labels[rows]
    if corpus.topics is not None:
        corpus.topics = [corpus.topics[row] for row in rows]
    corpus.cleaning = {**corpus.cleaning, "sample of": int(limit)}
    return corpus


def held_out_split(corpus, seed):
    """``(train rows, test rows)`` of the held-out split of ``--seed`` (``--folds 0``): the stratified
    20% of the corpus's own rows is the test set; extra corpora's rows are never in it."""
    return stratified_split(corpus.labels[:corpus.own], test_size=0.2, seed=seed)


def _held_out(corpus, config, options):
    """Train on 80% (10% of it for early stopping), test on the stratified 20% left."""
    train_rows, test_rows = held_out_split(corpus, options["seed"])
    fitted = fit(corpus, train_rows, config, options)
    accuracy, confusion = _score(_probabilities_of(fitted, corpus, test_rows), corpus.labels[test_rows])
    val_accuracy = _validation_accuracy(fitted, corpus, train_rows, options["seed"])
    baseline = _baseline(corpus, train_rows, test_rows, config)
    target, name = _target(corpus), baseline_name(corpus.language, config["max_n"], bool(config.get("topics")))
    epochs = epochs_of(fitted)
    lines = [f"{config['model']} model on {corpus.name} ({corpus.language}, {len(corpus.texts):,} texts): test "
             f"accuracy {accuracy:.4f} on the held-out 20% ({len(test_rows):,} texts) after {epochs} epochs; "
             f"{name} {baseline:.4f}" + (f"; target {target:.2f}" if target else "")]
    return {"evaluation": "stratified held-out 20%; 10% of the rest for early stopping",
            "split": {"train": len(train_rows), "test": len(test_rows)}, "epochs": epochs,
            "validation_accuracy": val_accuracy,
            "confusion_matrix": confusion.tolist(), "fitted": fitted, "lines": lines,
            "measures": [measure("test accuracy (held-out 20%)", accuracy, target=target, baseline=baseline,
                                 baseline_name=name)]}


def _cross_validate(corpus, config, folds, options):
    """Stratified k-fold cross-validation of the model and the baseline; then a model on all texts."""
    fold_of = _fold_numbers(corpus.labels[:corpus.own], folds, options["seed"])
    quiet = {**options, "bar": lambda: None}
    accuracies, baselines, confusion, epochs, validation = [], [], 0, [], []
    for fold in range(folds):
        train_rows, test_rows = np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)
        fitted = fit(corpus, train_rows, config, quiet)
        accuracy, fold_confusion = _score(_probabilities_of(fitted, corpus, test_rows), corpus.labels[test_rows])
        accuracies.append(accuracy)
        validation.append(_validation_accuracy(fitted, corpus, train_rows, options["seed"]))
        confusion = confusion + fold_confusion
        epochs.append(epochs_of(fitted))
        baselines.append(_baseline(corpus, train_rows, test_rows, config))
    fitted = fit(corpus, np.arange(corpus.own), config, options)
    mean, spread = float(np.mean(accuracies)), float(np.std(accuracies))
    base_mean, base_spread = float(np.mean(baselines)), float(np.std(baselines))
    target, name = _target(corpus), baseline_name(corpus.language, config["max_n"], bool(config.get("topics")))
    lines = [f"{config['model']} model on {corpus.name} ({corpus.language}, {len(corpus.texts):,} texts), {folds}-fold "
             f"cross-validation: accuracy {mean:.4f} +- {spread:.4f}; {name} {base_mean:.4f} +- "
             f"{base_spread:.4f}" + (f"; target {target:.2f}" if target else "")]
    return {"evaluation": f"stratified {folds}-fold cross-validation (10% of each training part for early stopping); "
                          "the checkpoint is a final model trained on all texts",
            "folds": folds, "fold_accuracies": accuracies, "accuracy_std": spread,
            "validation_accuracy": float(np.mean(validation)),
            "baseline_fold_accuracies": baselines, "baseline_std": base_spread, "fold_epochs": epochs,
            "confusion_matrix": confusion.tolist(), "fitted": fitted, "lines": lines,
            "measures": [measure(f"{folds}-fold cross-validation mean accuracy", mean, target=target,
                                 baseline=base_mean, baseline_name=name)]}


def _fold_numbers(labels, folds, seed):
    """A fold number per text, each class dealt round-robin in a random order (stratified folds)."""
    rng = np.random.default_rng(seed)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold_of[members] = (np.arange(len(members)) + int(label)) % folds
    return fold_of


def _validation_accuracy(fitted, corpus, train_rows, seed):
    """Accuracy on the training rows set aside for early stopping: the number to tune settings on."""
    _, val_rows = split_validation(corpus.labels, train_rows, seed)
    return _score(_probabilities_of(fitted, corpus, val_rows), corpus.labels[val_rows])[0]


def _probabilities_of(fitted, corpus, rows):
    """The class probabilities of the texts ``rows`` of ``corpus`` (with their topics, if the model reads them)."""
    topics = [corpus.topics[row] for row in rows] if fitted["config"].get("topics") else None
    return probabilities(fitted, [corpus.texts[row] for row in rows], topics)


def _score(probabilities, labels):
    return (float(metrics.accuracy(probabilities, labels)),
            metrics.confusion_matrix(probabilities, labels, num_classes=2))


def _baseline(corpus, train_rows, test_rows, config):
    train_rows = np.concatenate([train_rows, corpus.extra_rows])
    texts = np.array(corpus.texts, dtype=object)
    topics = np.array(corpus.topics, dtype=object) if config.get("topics") else None
    return tfidf_logistic_regression(list(texts[train_rows]), corpus.labels[train_rows], list(texts[test_rows]),
                                     corpus.labels[test_rows], corpus.language, config["max_n"],
                                     None if topics is None else (list(topics[train_rows]), list(topics[test_rows])))


def add_predict_arguments(parser):
    """``chainrule predict sentiment "这家店的菜很好吃" "Great food!"``."""
    parser.add_argument("inputs", nargs="+", help="texts to classify (quote each one)")
    parser.add_argument("--topic", default=None,
                        help="the texts' topic (e.g. the product category), for a model trained with --topics")


def predict(inputs, run="runs/sentiment", topic=None):
    """The label and its probability for each text, one line each, from the run folder ``run``.

    ``topic``: the texts' topic, needed by (and only by) a model trained with ``--topics``. A model
    trained with ``--extra-data`` alone marks the texts as its own corpus's unless ``topic`` names another.
    """
    run = Path(run)
    if not (run / SETTINGS_FILE).is_file() or not (run / "checkpoint.npz").is_file():
        raise ChainruleError(f"predict sentiment: {str(run)!r} is not a trained sentiment run; expected "
                             f"{SETTINGS_FILE} and checkpoint.npz in it (train with chainrule train sentiment "
                             f"--data PATH --out {run}).")
    fitted = load(run / "checkpoint.npz", run / SETTINGS_FILE)
    texts = [str(text) for text in inputs]
    labels, known = fitted["config"]["labels"], fitted["config"].get("topics")
    topic = fitted["config"].get("own_topic") if topic is None else topic
    if (topic is None) != (known is None) or known is not None and topic not in known:
        expected = f"--topic, one of {known}" if known else "no --topic (the model was trained without --topics)"
        raise ChainruleError(f"predict sentiment: bad topic for the run {str(run)!r}; expected {expected}, got "
                             f"{'none' if topic is None else repr(topic)}.")
    topics = None if topic is None else [topic] * len(texts)
    return [f"{labels[int(row.argmax())]} {row.max():.3f}  {text}"
            for text, row in zip(texts, probabilities(fitted, texts, topics))]
