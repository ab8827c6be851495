"""Training the sentiment application's classifiers, one or an ensemble, and reading them back.

A fitted classifier is a dict: ``{"config", "featurizer", "model", "history"}`` for one model, or
``{"config", "members": [one fitted dict per member]}`` for an ensemble, whose probabilities are
the mean of its members' (each member trained on the same rows, with its own early stopping on the
same validation rows). ``save`` and ``load`` keep either form as ``checkpoint.npz`` (the weights)
beside a settings file (the configs and featurisers), so prediction rebuilds exactly what was trained.

A config with ``"topics": True`` reads each text's topic too (``corpus.topics``; see ``_text``), and
``probabilities`` then needs one topic per text.
"""

import json

import numpy as np

import chainrule as cr
from chainrule.apps._run import write_json
from chainrule.apps._sentiment_models import BagBatches, SequenceBatches, build_model, log_count_ratios
from chainrule.apps._text import NgramHasher, Vocabulary, featurizer_from_settings
from chainrule.data import stratified_split
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F
from chainrule.train import AdversarialTrainer, EarlyStopping, Trainer

__all__ = ["fit", "split_validation", "probabilities", "epochs_of", "histories", "save", "load", "NGRAM_DROP"]

NGRAM_DROP = 0.3  # the chance each n-gram of a training bag is left out (BagBatches)


def fit(corpus, train_rows, config, options):
    """Train the classifier ``config`` describes on ``train_rows`` (10% held back for early stopping).

    ``train_rows`` are rows of the corpus's own texts; the texts of its extra data (``corpus.training_only``)
    join the 90% trained on, never the rows stopped on.
    ``options``: ``settings`` (per model name: epochs, lr, batch_size, and for the sequence models
    ``adversarial``, the step of ``AdversarialTrainer``), ``patience``, ``seed`` and ``bar`` (a function
    returning a progress callback or None).
    """
    if config["model"] == "ensemble":
        return {"config": config, "members": [fit(corpus, train_rows, member, options)
                                              for member in config["members"]]}
    settings, seed = options["settings"][config["model"]], options["seed"]
    cr.manual_seed(seed)
    fit_rows, val_rows = split_validation(corpus.labels, train_rows, seed)
    fit_rows = np.concatenate([fit_rows, corpus.extra_rows])
    featurizer, config = _featurizer(corpus, fit_rows, config)
    batches = _batches(featurizer, corpus, config, settings["batch_size"], seed)
    model = build_model(config)
    if config["model"] == "nb":
        model.ratios.data[...] = log_count_ratios(*featurizer.bags(corpus.texts, corpus.topics), fit_rows,
                                                  corpus.labels, config["buckets"])
    callbacks = [EarlyStopping(monitor="val_loss", patience=options["patience"], restore_best_weights=True)]
    bar = options["bar"]()
    if bar is not None:
        callbacks.append(bar)
    optimizer = cr.optim.Adam(model.parameters(), lr=settings["lr"])
    if settings.get("adversarial"):
        trainer = AdversarialTrainer(model, F.cross_entropy, optimizer, metrics=["accuracy"], callbacks=callbacks,
                                     embedding=model.embedding, epsilon=settings["adversarial"])
    else:
        trainer = Trainer(model, F.cross_entropy, optimizer, metrics=["accuracy"], callbacks=callbacks)
    history = trainer.fit(batches(fit_rows, shuffle=True), batches(val_rows), epochs=settings["epochs"])
    if not np.all(np.isfinite(history.history["loss"])):
        raise ChainruleError(f"train sentiment: training diverged; expected a finite loss, got "
                             f"{history.history['loss'][-1]} (try a lower --lr).")
    return {"model": model.eval(), "featurizer": featurizer, "config": config, "history": history}


def split_validation(labels, train_rows, seed):
    """``(fit_rows, val_rows)``: the stratified 10% of ``train_rows`` every model stops early on."""
    fit_part, val_part = stratified_split(labels[train_rows], test_size=0.1, seed=seed + 1)
    return train_rows[fit_part], train_rows[val_part]


def epochs_of(fitted):
    """Epochs trained: an int for one model, ``{member: epochs}`` for an ensemble."""
    if "members" in fitted:
        return {member["config"]["model"]: epochs_of(member) for member in fitted["members"]}
    return len(fitted["history"].history["loss"])


def histories(fitted):
    """``{model name: History}`` of every model in ``fitted``."""
    members = fitted.get("members", [fitted])
    return {member["config"]["model"]: member["history"] for member in members}


def _featurizer(corpus, fit_rows, config):
    topics = bool(config.get("topics"))
    if config["model"] in ("bag", "nb"):
        return NgramHasher(corpus.language, config["max_n"], config["buckets"], config["subwords"],
                           config.get("chars"), config.get("words"), topics), config
    vocabulary = Vocabulary.build([corpus.texts[row] for row in fit_rows], corpus.language,
                                  topics=[corpus.topics[row] for row in fit_rows] if topics else None)
    return vocabulary, {**config, "vocabulary_size": len(vocabulary)}


def _batches(featurizer, corpus, config, batch_size, seed):
    """A function ``rows, shuffle -> batches`` over the whole corpus, featurised once."""
    if isinstance(featurizer, NgramHasher):
        indices, offsets = featurizer.bags(corpus.texts, corpus.topics)
        return lambda rows, shuffle=False: BagBatches(indices, offsets, rows, corpus.labels, batch_size, shuffle, seed,
                                                      drop=NGRAM_DROP if shuffle else 0.0)
    topics = corpus.topics or [None] * len(corpus.texts)
    sequences = [featurizer.ids(text, config["max_tokens"], topic) for text, topic in zip(corpus.texts, topics)]
    return lambda rows, shuffle=False: SequenceBatches(sequences, rows, corpus.labels, batch_size, shuffle, seed)


def probabilities(fitted, texts, topics=None, batch_size=512):
    """(len(texts), 2) class probabilities of a fitted classifier (an ensemble's: its members' mean).

    ``topics``: one per text, for a classifier that reads them (None otherwise).
    """
    if "members" in fitted:
        return np.mean([probabilities(member, texts, topics, batch_size) for member in fitted["members"]], axis=0)
    featurizer, config, model = fitted["featurizer"], fitted["config"], fitted["model"]
    model.eval()
    out = []
    with cr.no_grad():
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            chunk_topics = [None] * len(chunk) if topics is None else topics[start:start + batch_size]
            if isinstance(featurizer, NgramHasher):
                indices, offsets = featurizer.bags(chunk, None if topics is None else chunk_topics)
                logits = model(cr.tensor(indices), cr.tensor(offsets))
            else:
                batches = SequenceBatches([featurizer.ids(text, config["max_tokens"], topic)
                                           for text, topic in zip(chunk, chunk_topics)],
                                          np.arange(len(chunk)), None, len(chunk))
                logits = model(*batches.batch(np.arange(len(chunk)))[0])
            out.append(F.softmax(logits, dim=1).numpy())
    return np.concatenate(out)


def _described(fitted):
    if "members" in fitted:
        return {**fitted["config"], "members": [_described(member) for member in fitted["members"]]}
    return {**fitted["config"], "featurizer": fitted["featurizer"].settings()}


def _weights(fitted):
    if "members" in fitted:
        return {member["config"]["model"]: _weights(member) for member in fitted["members"]}
    return fitted["model"].state_dict()


def save(fitted, checkpoint, settings_file):
    """Write the weights to ``checkpoint`` and the configs and featurisers to ``settings_file``."""
    cr.save({"model": _weights(fitted)}, checkpoint)
    write_json(settings_file, _described(fitted))


def load(checkpoint, settings_file):
    """The fitted classifier ``save`` wrote (ready for ``probabilities``; no histories)."""
    config = json.loads(settings_file.read_text(encoding="utf-8"))
    return _rebuilt(config, cr.load(checkpoint)["model"])


def _rebuilt(config, weights):
    if config["model"] == "ensemble":
        return {"config": config, "members": [_rebuilt(member, weights[member["model"]])
                                              for member in config["members"]]}
    model = build_model(config)
    model.load_state_dict(weights)
    return {"config": config, "featurizer": featurizer_from_settings(config["featurizer"]), "model": model.eval()}
