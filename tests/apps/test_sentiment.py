"""The sentiment application: reading each corpus layout, training both models on small slices,
prediction in Chinese and English, the command line, and clear errors for data it cannot read."""

import json
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.apps import _sentiment_fit, sentiment
from chainrule.apps._sentiment_fit import load, probabilities
from chainrule.apps._sentiment_models import CnnClassifier
from chainrule.apps._sentiment_data import load_corpus, with_extra
from chainrule.apps._text import NgramHasher, Vocabulary, featurizer_from_settings
from chainrule.cli import main
from chainrule.errors import ChainruleError

QUICK = dict(epochs=1, buckets=4096, progress=False)


@pytest.fixture
def waimai(shared_data):
    return shared_data("waimai-10k") / "waimai_10k.csv"


def test_cleaning_drops_empty_repeated_and_contradicting_texts(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("label,review\n1,\ufeff好吃\n0,太慢了\n1,好吃\n1,一般\n0,一般\n1,\n0,\"难吃, 很咸\"\n",
                    encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.texts == ["好吃", "太慢了", "难吃, 很咸"] and corpus.labels.tolist() == [1, 0, 0]
    assert corpus.language == "zh"
    assert corpus.cleaning == {"rows read": 7, "empty texts dropped": 1, "repeated rows dropped": 2,
                               "texts with both labels dropped": 1, "texts kept": 3}


def test_tab_separated_lines_are_cut_at_line_feeds_only(tmp_path):
    (tmp_path / "a_labelled.txt").write_text("Great\u0085 phone.\t1\nAwful battery.\t0\n", encoding="utf-8")
    (tmp_path / "b_labelled.txt").write_text("Loved it!\t1\nNever again.\t0\n", encoding="utf-8")
    (tmp_path / "readme.txt").write_text("not data", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert corpus.texts[0] == "Great\u0085 phone." and corpus.labels.tolist() == [1, 0, 1, 0]
    assert corpus.language == "en" and corpus.sources == ["a_labelled.txt", "b_labelled.txt"]


def test_every_shared_corpus_layout_is_detected(shared_data):
    waimai = load_corpus(shared_data("waimai-10k") / "waimai_10k.csv")
    shopping = load_corpus(shared_data("online-shopping-10-cats") / "online_shopping_10_cats.zip")
    uci = load_corpus(shared_data("uci-sentiment-labelled"))
    assert (waimai.language, shopping.language, uci.language) == ("zh", "zh", "en")
    for corpus in (waimai, shopping, uci):
        assert len(set(corpus.texts)) == len(corpus.texts) and set(corpus.labels.tolist()) == {0, 1}
    assert shopping.cleaning["empty texts dropped"] == 1 and not shopping.texts[0].startswith("\ufeff")
    assert shopping.cleaning["texts with both labels dropped"] == 18
    assert len(uci.sources) == 3


def test_hashed_ngrams_are_stable_and_vocabulary_round_trips():
    hasher = NgramHasher("zh", max_n=3, buckets=1 << 12)
    indices, offsets = hasher.bags(["很好吃", "", "好吃"])
    assert offsets.tolist() == [0, 6, 6] and len(indices) == 6 + 3   # 3 + 2 + 1 n-grams, none, 2 + 1
    assert indices[[1, 2, 4]].tolist() == indices[6:].tolist()     # 好, 吃, 好吃 hash alike in both texts
    assert featurizer_from_settings(hasher.settings()).bags(["很好吃"])[0].tolist() == indices[:6].tolist()
    words = NgramHasher("en", max_n=2, buckets=1 << 16, subwords=(2, 5))
    disappointing, disappointed = words.bags(["disappointing"])[0], words.bags(["disappointed"])[0]
    assert len(set(disappointing.tolist()) & set(disappointed.tolist())) >= 10   # <d, <di, ..., ointe
    assert featurizer_from_settings(words.settings()).bags(["fine"])[0].tolist() == words.bags(["fine"])[0].tolist()
    vocabulary = Vocabulary.build(["good food", "good service", "bad food"], "en", min_count=2)
    again = featurizer_from_settings(json.loads(json.dumps(vocabulary.settings())))
    assert again.sequences(["good bad food"], 5).tolist() == vocabulary.sequences(["good bad food"], 5).tolist()


def test_bag_model_trains_on_a_slice_and_predicts_chinese(waimai, tmp_path):
    result = sentiment.train(out=tmp_path / "run", data=waimai, limit=300, folds=0, **QUICK)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    row = metrics["measures"][0]
    assert row["name"] == "test accuracy (held-out 20%)" and 0 <= row["value"] <= 1
    assert row["target"] == 0.92 and 0.5 <= row["baseline"]["value"] <= 1
    assert metrics["split"] == {"train": 240, "test": 60} and metrics["cleaning"]["sample of"] == 300
    assert np.sum(metrics["confusion_matrix"]) == 60
    for name in ("checkpoint.npz", "sentiment.json", "learning_curves.png", "confusion_matrix.png"):
        assert (tmp_path / "run" / name).is_file()
    assert result.lines and "held-out" in result.lines[0]
    lines = sentiment.predict(["这家店的菜很好吃", "太难吃了"], run=tmp_path / "run")
    assert len(lines) == 2 and lines[0].endswith("这家店的菜很好吃")
    label, probability = lines[0].split()[:2]
    assert label in ("negative", "positive") and 0.5 <= float(probability) <= 1


def test_gru_model_cross_validates_english_and_predicts(shared_data, tmp_path):
    sentiment.train(out=tmp_path / "gru", data=shared_data("uci-sentiment-labelled"), model="gru", limit=120,
                    folds=3, dim=8, **QUICK)
    metrics = json.loads((tmp_path / "gru" / "metrics.json").read_text(encoding="utf-8"))
    assert 0 <= metrics["validation_accuracy"] <= 1
    assert metrics["folds"] == 3 and len(metrics["fold_accuracies"]) == len(metrics["baseline_fold_accuracies"]) == 3
    assert metrics["measures"][0]["name"] == "3-fold cross-validation mean accuracy"
    assert metrics["measures"][0]["target"] == 0.85 and np.sum(metrics["confusion_matrix"]) == 120
    settings = json.loads((tmp_path / "gru" / "sentiment.json").read_text(encoding="utf-8"))
    assert settings["model"] == "gru" and settings["featurizer"]["kind"] == "vocabulary"
    lines = sentiment.predict(["Great phone, works well.", ""], run=tmp_path / "gru")
    assert [line.split()[0] in ("negative", "positive") for line in lines] == [True, True]


def test_cnn_model_masks_padding_and_predicts_short_texts(waimai, tmp_path):
    model = CnnClassifier(vocabulary_size=20, dim=4, filters=3).eval()
    ids, lengths = np.array([[5, 6, 0, 0, 0, 0]]), np.array([2])
    # a text gives the same logits however much padding its batch adds
    assert np.allclose(model(cr.tensor(ids), cr.tensor(lengths)).numpy(),
                       model(cr.tensor(ids[:, :2]), cr.tensor(lengths)).numpy(), atol=1e-5)
    sentiment.train(out=tmp_path / "cnn", data=waimai, model="cnn", limit=200, folds=0, dim=8, **QUICK)
    settings = json.loads((tmp_path / "cnn" / "sentiment.json").read_text(encoding="utf-8"))
    assert settings["model"] == "cnn" and settings["featurizer"]["kind"] == "vocabulary"
    lines = sentiment.predict(["好", "送餐很快，味道也不错"], run=tmp_path / "cnn")
    assert [line.split()[0] in ("negative", "positive") for line in lines] == [True, True]


def test_adversarial_training_nudges_the_sequence_members_only(waimai, tmp_path):
    sentiment.train(out=tmp_path / "adv", data=waimai, model="ensemble", members="bag,cnn", limit=200, folds=0,
                    dim=8, adversarial=1.5, **QUICK)
    metrics = json.loads((tmp_path / "adv" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["settings"]["cnn"]["adversarial"] == 1.5 and "adversarial" not in metrics["settings"]["bag"]
    assert metrics["command"].endswith("--adversarial 1.5")  # the command reproduces the run
    lines = sentiment.predict(["好", "送餐很快，味道也不错"], run=tmp_path / "adv")
    assert [line.split()[0] in ("negative", "positive") for line in lines] == [True, True]
    # the cnn member's weights are not those it trains to without the nudges
    sentiment.train(out=tmp_path / "plain", data=waimai, model="ensemble", members="bag,cnn", limit=200, folds=0,
                    dim=8, **QUICK)
    nudged, plain = (load(tmp_path / run / "checkpoint.npz", tmp_path / run / "sentiment.json")["members"][1]["model"]
                     for run in ("adv", "plain"))
    assert not np.array_equal(nudged.embedding.weight.numpy(), plain.embedding.weight.numpy())
    for model, step in (("bag", 1.0), ("cnn", -1.0)):
        with pytest.raises(ChainruleError, match="bad --adversarial; expected a step > 0 for a model with token"):
            sentiment.train(out=tmp_path / "bad", data=waimai, model=model, limit=200, folds=0, adversarial=step,
                            **QUICK)


def test_nb_model_scales_ngrams_by_their_log_count_ratios(waimai, tmp_path):
    sentiment.train(out=tmp_path / "nb", data=waimai, model="nb", limit=200, folds=0, **QUICK)
    fitted = load(tmp_path / "nb" / "checkpoint.npz", tmp_path / "nb" / "sentiment.json")
    ratios = fitted["model"].ratios.numpy()
    hasher = fitted["featurizer"]
    good, bad = (hasher.bags([text])[0] for text in ("好吃", "难吃"))
    # the checkpoint keeps the ratios; 好 leans positive and 难 negative in any sample of the corpus
    assert ratios.shape == (4096,) and ratios[good[0]] > 0 > ratios[bad[0]]
    lines = sentiment.predict(["很好吃", "太难吃了"], run=tmp_path / "nb")
    assert [line.split()[0] in ("negative", "positive") for line in lines] == [True, True]


def test_ensemble_averages_its_members_and_predicts(shared_data, tmp_path):
    sentiment.train(out=tmp_path / "ens", data=shared_data("uci-sentiment-labelled"), model="ensemble", limit=90,
                    folds=0, dim=8, **QUICK)
    metrics = json.loads((tmp_path / "ens" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["model"] == "ensemble" and set(metrics["epochs"]) == set(sentiment.ENSEMBLE)
    assert "--members " + ",".join(sentiment.ENSEMBLE) in metrics["command"]
    assert 0 <= metrics["validation_accuracy"] <= 1
    settings = json.loads((tmp_path / "ens" / "sentiment.json").read_text(encoding="utf-8"))
    assert [member["model"] for member in settings["members"]] == list(sentiment.ENSEMBLE)
    for name in sentiment.ENSEMBLE:
        assert (tmp_path / "ens" / f"learning_curves_{name}.png").is_file()
    fitted = load(tmp_path / "ens" / "checkpoint.npz", tmp_path / "ens" / "sentiment.json")
    texts = ["Great phone, works well.", "Terrible."]
    mean = np.mean([probabilities(member, texts) for member in fitted["members"]], axis=0)
    assert np.allclose(probabilities(fitted, texts), mean)
    lines = sentiment.predict(texts, run=tmp_path / "ens")
    assert [line.split()[0] for line in lines] == [("negative", "positive")[row.argmax()] for row in mean]


def test_command_line_trains_on_the_zip_and_predicts(shared_data, tmp_path, capsys):
    data = shared_data("online-shopping-10-cats") / "online_shopping_10_cats.zip"
    run = str(tmp_path / "cli")
    assert main(["train", "sentiment", "--data", str(data), "--out", run, "--limit", "200", "--epochs", "1",
                 "--buckets", "2048", "--folds", "0"]) == 0
    assert main(["predict", "sentiment", "--run", run, "质量很好，物流也快"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].endswith("质量很好，物流也快") and printed[-1].split()[0] in ("negative", "positive")
    assert json.loads((tmp_path / "cli" / "metrics.json").read_text(encoding="utf-8"))["command"].startswith(
        "chainrule train sentiment --data")


def test_unreadable_data_gives_clear_errors(tmp_path, capsys):
    assert main(["train", "sentiment", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r")]) == 1
    assert "missing.csv" in capsys.readouterr().err
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(ChainruleError, match="expected a .csv with a 'label,review' header"):
        sentiment.train(out=tmp_path / "r", data=tmp_path / "notes.json")
    (tmp_path / "other.csv").write_text("id,text\n1,hello\n")
    with pytest.raises(ChainruleError, match="expected a header with the columns 'label' and 'review'"):
        sentiment.train(out=tmp_path / "r", data=tmp_path / "other.csv")
    (tmp_path / "bad.txt").write_text("no tab here\n")
    with pytest.raises(ChainruleError, match="is not 'sentence<TAB>label'"):
        sentiment.train(out=tmp_path / "r", data=tmp_path / "bad.txt")
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    with pytest.raises(ChainruleError, match="expected a zip archive"):
        sentiment.train(out=tmp_path / "r", data=tmp_path / "fake.zip")
    with pytest.raises(ChainruleError, match="expected --data PATH"):
        sentiment.train(out=tmp_path / "r")
    for model, members in (("ensemble", "bag,bag"), ("ensemble", "bag,tree"), ("bag", "bag,cnn")):
        with pytest.raises(ChainruleError, match="--members"):
            sentiment.train(out=tmp_path / "r", data=tmp_path / "bad.txt", model=model, members=members)
    with pytest.raises(ChainruleError, match="is not a trained sentiment run"):
        sentiment.predict(["good"], run=tmp_path / "r")


def test_character_ngrams_of_the_whole_text_cross_word_boundaries():
    plain = NgramHasher("en", max_n=1, buckets=1 << 16)
    chars = NgramHasher("en", max_n=1, buckets=1 << 16, chars=(3, 3))
    assert len(chars.bags(["not bad"])[0]) == len(plain.bags(["not bad"])[0]) + 7   # " no", "not", ..., "ad "
    assert set(chars.bags(["t b"])[0].tolist()) & set(chars.bags(["not bad"])[0].tolist())  # "t b" across words
    again = featurizer_from_settings(json.loads(json.dumps(chars.settings())))
    assert again.bags(["not bad"])[0].tolist() == chars.bags(["not bad"])[0].tolist()
    with pytest.raises(ChainruleError, match="chars"):
        NgramHasher("en", max_n=1, buckets=16, chars=(4, 2))


class _TwoCharacterWords:
    """Stands in for jieba: cuts a text into pieces of two characters."""

    @staticmethod
    def lcut(text):
        return [text[start:start + 2] for start in range(0, len(text), 2)]

    @staticmethod
    def setLogLevel(level):
        pass


def test_chinese_word_ngrams_come_from_jieba_and_round_trip(waimai, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jieba", _TwoCharacterWords)
    plain = NgramHasher("zh", max_n=1, buckets=1 << 16)
    words = NgramHasher("zh", max_n=1, buckets=1 << 16, words=2)
    assert len(words.bags(["很好吃啊"])[0]) == len(plain.bags(["很好吃啊"])[0]) + 3   # 很好, 吃啊, 很好_吃啊
    again = featurizer_from_settings(json.loads(json.dumps(words.settings())))
    assert again.bags(["很好吃啊"])[0].tolist() == words.bags(["很好吃啊"])[0].tolist()
    sentiment.train(out=tmp_path / "words", data=waimai, model="nb", words=2, limit=200, folds=0, **QUICK)
    metrics = json.loads((tmp_path / "words" / "metrics.json").read_text(encoding="utf-8"))
    assert "--words 2" in metrics["command"] and metrics["settings"]["words"] == 2
    assert json.loads((tmp_path / "words" / "sentiment.json").read_text(encoding="utf-8"))["featurizer"]["words"] == 2
    assert sentiment.predict(["很好吃"], run=tmp_path / "words")[0].split()[0] in ("negative", "positive")


def test_word_ngrams_need_jieba_and_a_chinese_corpus(shared_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "jieba", None)   # import jieba now raises ImportError
    with pytest.raises(ChainruleError, match=r"chainrule\[zh\]"):
        NgramHasher("zh", max_n=1, buckets=16, words=2).bags(["好吃"])
    with pytest.raises(ChainruleError, match="words"):
        NgramHasher("en", max_n=1, buckets=16, words=2)
    with pytest.raises(ChainruleError, match="--words"):
        sentiment.train(data=shared_data("uci-sentiment-labelled"), words=2, limit=40, **QUICK)


def test_a_cat_column_gives_each_text_the_topic_of_its_first_row(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("cat,label,review\n酒店,1,很干净\n手机,0,太薄了\n酒店,1,很干净\n衣服,1,很薄\n",
                    encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.texts == ["很干净", "太薄了", "很薄"] and corpus.topics == ["酒店", "手机", "衣服"]
    (tmp_path / "plain.csv").write_text("label,review\n1,很干净\n0,太慢\n", encoding="utf-8")
    assert load_corpus(tmp_path / "plain.csv").topics is None


def test_topics_cross_every_ngram_and_lead_each_sequence():
    hasher = NgramHasher("zh", max_n=2, buckets=1 << 16, topics=True)
    hotel, phone = (hasher.bags(["太薄了"], [topic])[0].tolist() for topic in ("酒店", "手机"))
    plain = NgramHasher("zh", max_n=2, buckets=1 << 16).bags(["太薄了"])[0].tolist()
    assert len(hotel) == 2 * len(plain) + 1          # 5 n-grams, each also crossed, and the topic
    assert set(plain) <= set(hotel) & set(phone) and set(hotel) != set(phone)
    again = featurizer_from_settings(json.loads(json.dumps(hasher.settings())))
    assert again.bags(["太薄了"], ["酒店"])[0].tolist() == hotel
    with pytest.raises(ChainruleError, match="expected one topic per text"):
        hasher.bags(["太薄了", "好"], ["酒店"])
    vocabulary = Vocabulary.build(["太薄了", "太好了"], "zh", min_count=2, topics=["酒店", "手机", "酒店"])
    assert vocabulary.topics == ["手机", "酒店"] and len(vocabulary) == 2 + 2 + 2   # 太 了, pad unknown, topics
    assert vocabulary.ids("太薄", 5, topic="酒店") == [5, vocabulary.index["太"], 1]
    assert vocabulary.ids("太", 5, topic="书籍")[0] == 1                            # an unseen topic
    again = featurizer_from_settings(json.loads(json.dumps(vocabulary.settings())))
    assert again.ids("太", 5, "手机") == [4, vocabulary.index["太"]]
    with pytest.raises(ChainruleError, match="expected a topic"):
        vocabulary.ids("太", 5)


def test_models_read_topics_end_to_end(shared_data, waimai, tmp_path, capsys):
    data = shared_data("online-shopping-10-cats") / "online_shopping_10_cats.zip"
    run = tmp_path / "topics"
    assert main(["train", "sentiment", "--data", str(data), "--out", str(run), "--model", "ensemble", "--limit",
                 "300", "--epochs", "1", "--buckets", "2048", "--folds", "0", "--topics"]) == 0
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["command"].endswith("--topics") and "酒店" in metrics["settings"]["topics"]
    assert "crossed with the topic" in metrics["measures"][0]["baseline"]["name"]
    assert main(["predict", "sentiment", "--run", str(run), "--topic", "酒店", "房间很干净"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("房间很干净")
    fitted = load(run / "checkpoint.npz", run / "sentiment.json")
    texts = ["房间很干净", "屏幕太暗了"]
    by_topic = [probabilities(fitted, texts, [topic] * 2) for topic in ("酒店", "手机")]
    assert not np.allclose(*by_topic)                 # the topic changes what every member reads
    with pytest.raises(ChainruleError, match="expected --topic, one of"):
        sentiment.predict(texts, run=run)
    with pytest.raises(ChainruleError, match="expected --topic, one of"):
        sentiment.predict(texts, run=run, topic="汽车")
    with pytest.raises(ChainruleError, match="'cat' column"):
        sentiment.train(out=tmp_path / "r", data=waimai, topics=True, limit=100, **QUICK)
    sentiment.train(out=tmp_path / "plain", data=waimai, limit=100, folds=0, **QUICK)
    with pytest.raises(ChainruleError, match="trained without --topics"):
        sentiment.predict(["好吃"], run=tmp_path / "plain", topic="酒店")


def test_extra_data_joins_after_the_corpus_without_its_texts(tmp_path):
    (tmp_path / "food.csv").write_text("label,review\n1,好吃\n0,太慢了\n1,很快\n", encoding="utf-8")
    (tmp_path / "shop.csv").write_text("cat,label,review\n手机,0,太慢了\n酒店,1,很干净\n手机,0,太薄\n",
                                       encoding="utf-8")
    food, shop = load_corpus(tmp_path / "food.csv"), load_corpus(tmp_path / "shop.csv")
    joined = with_extra(food, [shop])
    assert joined.texts == ["好吃", "太慢了", "很快", "很干净", "太薄"] and joined.labels.tolist() == [1, 0, 1, 1, 0]
    assert joined.own == 3 and joined.training_only == 2 and joined.sources == ["food.csv"]
    assert joined.topics == ["food.csv"] * 3 + ["shop.csv"] * 2
    assert with_extra(food, [shop], by_category=True).topics[3:] == ["酒店", "手机"]
    assert joined.cleaning["extra data"] == [{"data": "shop.csv", "texts kept": 2,
                                              "texts dropped (held by an earlier corpus)": 1}]
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "food.csv").write_text("label,review\n1,很香\n0,很咸\n", encoding="utf-8")
    also = with_extra(food, [shop, load_corpus(tmp_path / "more" / "food.csv")])
    assert also.texts[-2:] == ["很香", "很咸"] and also.topics[-1] == "food.csv #3"   # a file name taken
    (tmp_path / "english.csv").write_text("label,review\n1,good food\n0,too slow\n", encoding="utf-8")
    with pytest.raises(ChainruleError, match="expected 'zh' texts like 'food.csv', got 'en'"):
        with_extra(food, [load_corpus(tmp_path / "english.csv")])


def test_extra_data_is_trained_on_but_never_validated_or_tested(shared_data, waimai, tmp_path, monkeypatch,
                                                                 capsys):
    shop = shared_data("online-shopping-10-cats") / "online_shopping_10_cats.zip"
    seen = []

    class RecordingBatches(_sentiment_fit.BagBatches):
        def __init__(self, indices, offsets, rows, labels, batch_size, shuffle=False, seed=0, drop=0.0):
            seen.append((shuffle, np.asarray(rows)))
            super().__init__(indices, offsets, rows, labels, batch_size, shuffle, seed, drop)

    monkeypatch.setattr(_sentiment_fit, "BagBatches", RecordingBatches)
    plain = sentiment.train(out=tmp_path / "plain", data=waimai, limit=300, folds=0, **QUICK)
    seen.clear()
    run = tmp_path / "extra"
    joined = sentiment.train(out=run, data=waimai, extra_data=[shop], limit=300, folds=0, **QUICK)
    assert joined.metrics["split"] == plain.metrics["split"] == {"train": 240, "test": 60}
    (trained, fit_rows), (stopped, val_rows) = seen
    assert trained and not stopped
    assert set(range(300, 600)) <= set(fit_rows.tolist()) and val_rows.max() < 300   # shop rows: training only
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["cleaning"]["extra data"][0]["data"] == shop.name
    assert metrics["settings"]["extra_data"] == [shop.name] and f"--extra-data {shop}" in metrics["command"]
    assert "crossed with the topic" in metrics["measures"][0]["baseline"]["name"]
    assert main(["predict", "sentiment", "--run", str(run), "这家店的菜很好吃"]) == 0   # its own topic by default
    assert capsys.readouterr().out.strip().endswith("这家店的菜很好吃")
    fitted = load(run / "checkpoint.npz", run / "sentiment.json")
    assert fitted["config"]["own_topic"] == waimai.name
    own, other = (probabilities(fitted, ["送餐很快"], [topic])[0] for topic in (waimai.name, shop.name))
    assert not np.allclose(own, other)                                           # the corpus mark counts
    label = sentiment.LABELS[int(own.argmax())]
    assert sentiment.predict(["送餐很快"], run=run) == [f"{label} {own.max():.3f}  送餐很快"]
    with pytest.raises(ChainruleError, match="expected --topic, one of"):
        sentiment.predict(["好吃"], run=run, topic="酒店")
