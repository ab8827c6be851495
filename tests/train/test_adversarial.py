"""AdversarialTrainer: each update follows the clean gradient plus the gradient at the nudged
embeddings, the nudge is epsilon along the table's gradient, and the table is restored exactly."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ChainruleError
from chainrule.train import AdversarialTrainer, Trainer

IDS = np.array([[1, 2, 3], [3, 4, 1], [5, 1, 1]])
TARGETS = np.array([0, 1, 1])


def _model(seed=0):
    cr.manual_seed(seed)
    embedding = nn.Embedding(6, 4)
    model = nn.Sequential(embedding, nn.Flatten(), nn.Linear(12, 2))
    return model, embedding


def _gradients(model, table=None):
    """Every parameter's gradient of the batch's loss, with the embedding table replaced by ``table``."""
    if table is not None:
        model[0].weight.data[...] = table
    model.zero_grad()
    nn.functional.cross_entropy(model(cr.tensor(IDS)), cr.tensor(TARGETS)).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("epsilon", [0.5, 2.0])
def test_the_update_adds_the_gradient_at_the_nudged_embeddings(epsilon):
    model, embedding = _model()
    start = [p.numpy().copy() for p in model.parameters()]
    clean = _gradients(_model()[0])
    g = clean[0].astype(np.float64)
    nudged_table = start[0] + (clean[0] * np.float32(epsilon / np.sqrt(np.sum(g * g))))
    # the step is epsilon long, along the gradient, and moves only the rows the batch looked up
    assert np.isclose(np.linalg.norm(nudged_table - start[0]), epsilon, rtol=1e-5)
    assert np.array_equal(nudged_table[0], start[0][0])  # row 0 is never looked up here
    adversarial = _gradients(_model()[0], nudged_table)

    trainer = AdversarialTrainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1.0),
                                 embedding=embedding, epsilon=epsilon)
    trainer.train_step(cr.tensor(IDS), cr.tensor(TARGETS))
    for before, after, g_clean, g_adv in zip(start, [p.numpy() for p in model.parameters()], clean, adversarial):
        np.testing.assert_allclose(after, before - (g_clean + g_adv), rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())  # step 5 cleared them


def test_the_table_is_restored_bit_for_bit_before_the_update():
    model, embedding = _model()
    table = embedding.weight.numpy().copy()
    trainer = AdversarialTrainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
                                 embedding=embedding, epsilon=3.0)
    loss, outputs = trainer.train_step(cr.tensor(IDS), cr.tensor(TARGETS))
    assert np.array_equal(embedding.weight.numpy(), table)
    # the loss returned is the clean batch's, not the nudged one's
    assert np.isclose(loss.item(), nn.functional.cross_entropy(model(cr.tensor(IDS)), cr.tensor(TARGETS)).item())
    assert outputs.shape == (3, 2)


def test_epsilon_zero_trains_as_the_plain_trainer():
    data = [(cr.tensor(IDS), cr.tensor(TARGETS))]
    results = []
    for make in (lambda m, e: Trainer(m, nn.CrossEntropyLoss(), optim.Adam(m.parameters(), lr=0.05)),
                 lambda m, e: AdversarialTrainer(m, nn.CrossEntropyLoss(), optim.Adam(m.parameters(), lr=0.05),
                                                 embedding=e, epsilon=0.0)):
        model, embedding = _model()
        make(model, embedding).fit(data, epochs=5)
        results.append([p.numpy().copy() for p in model.parameters()])
    for plain, adversarial in zip(*results):
        assert np.array_equal(plain, adversarial)


def test_adversarial_training_fits_and_its_history_is_the_clean_loss():
    model, embedding = _model()
    trainer = AdversarialTrainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                                 embedding=embedding, epsilon=1.0, metrics=["accuracy"])
    history = trainer.fit([(cr.tensor(IDS), cr.tensor(TARGETS))], epochs=40)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0


def test_bad_embedding_or_epsilon_is_a_clear_error():
    model, embedding = _model()
    with pytest.raises(ChainruleError, match="embedding must be a module of the model"):
        AdversarialTrainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                           embedding=nn.Embedding(6, 4), epsilon=1.0)
    with pytest.raises(ChainruleError, match="expected epsilon >= 0, got -1"):
        AdversarialTrainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                           embedding=embedding, epsilon=-1)
