"""End-to-end training epochs for the benchmark: each library's own data loader, model and optimizer.

digits  chainrule.apps.digits.build_cnn (conv 1->32, conv 32->64, max-pool, dropout, linear
        1024->128->10) on scikit-learn's 1,797 8x8 digits, batch 64, shuffled, AdamW (lr 3e-3,
        weight decay 1e-2) as the digits application trains it, without its augmentation.
mnist   the CNN of the step benchmark (conv3x3 1->16, pool, conv3x3 16->32, pool, linear) on the
        60,000 MNIST training images, batch 64, shuffled, SGD lr 0.01.

Each ``make_*`` returns ``(chainrule_epoch, torch_epoch, check)``: two callables that train one
epoch, and the losses both models give on the first batch from the same weights (must agree).
"""

import numpy as np

import chainrule as cr

BATCH = 64


def _copy_weights(torch_model, ours):
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()})


def _torch_digits_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))


def _epoch_pair(torch, ours, theirs, images, labels, make_optimizers):
    """The two epoch callables over the same arrays, and the first-batch losses in eval mode."""
    F = cr.nn.functional
    loader = cr.data.DataLoader(cr.data.TensorDataset(images, labels), batch_size=BATCH, shuffle=True, seed=0)
    torch_data = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    torch_loader = torch.utils.data.DataLoader(torch_data, batch_size=BATCH, shuffle=True,
                                               generator=torch.Generator().manual_seed(0))
    our_optimizer, their_optimizer = make_optimizers(ours, theirs)

    def chainrule_epoch():
        ours.train()
        for x, y in loader:
            loss = F.cross_entropy(ours(x), y)
            our_optimizer.zero_grad()
            loss.backward()
            our_optimizer.step()

    def torch_epoch():
        theirs.train()
        for x, y in torch_loader:
            loss = torch.nn.functional.cross_entropy(theirs(x), y)
            their_optimizer.zero_grad()
            loss.backward()
            their_optimizer.step()

    ours.eval()
    theirs.eval()
    with cr.no_grad():
        our_loss = float(F.cross_entropy(ours(cr.tensor(images[:BATCH])), cr.tensor(labels[:BATCH])).item())
    with torch.no_grad():
        their_loss = float(torch.nn.functional.cross_entropy(theirs(torch.from_numpy(images[:BATCH])),
                                                             torch.from_numpy(labels[:BATCH])))
    return chainrule_epoch, torch_epoch, (our_loss, their_loss)


def make_digits(torch):
    """The digits application's CNN, one epoch over all 1,797 digits."""
    from chainrule.apps.digits import build_cnn
    from chainrule.data.datasets import load_digits

    images, labels = load_digits()
    images = np.ascontiguousarray(images[:, None], dtype=np.float32)
    torch.manual_seed(0)
    theirs = _torch_digits_cnn(torch)
    ours = build_cnn()
    _copy_weights(theirs, ours)

    def optimizers(ours, theirs):
        return (cr.optim.AdamW(ours.parameters(), lr=3e-3, weight_decay=1e-2),
                torch.optim.AdamW(theirs.parameters(), lr=3e-3, weight_decay=1e-2))
    return _epoch_pair(torch, ours, theirs, images, labels.astype(np.int64), optimizers)


def load_mnist_train(path):
    """MNIST training images as float32 (N, 1, 28, 28) in [0, 1] and int64 labels, from an .npz
    with x_train/y_train or a folder of the four IDX files."""
    from pathlib import Path
    path = Path(path)
    npz = path if path.suffix == ".npz" else path / "mnist.npz"
    if npz.exists():
        with np.load(npz) as data:
            images, labels = data["x_train"], data["y_train"]
    else:
        from chainrule.data.datasets import load_mnist_idx
        (images, labels), _ = load_mnist_idx(path)
    images = (images.astype(np.float32) / np.float32(255))[:, None]
    return np.ascontiguousarray(images), labels.astype(np.int64)


def make_mnist(torch, path):
    """The step benchmark's CNN, one epoch over the 60,000 MNIST training images."""
    from train_step import chainrule_model, torch_model

    images, labels = load_mnist_train(path)
    torch.manual_seed(0)
    theirs = torch_model(torch, "cnn")
    ours = chainrule_model("cnn")
    _copy_weights(theirs, ours)

    def optimizers(ours, theirs):
        return cr.optim.SGD(ours.parameters(), lr=0.01), torch.optim.SGD(theirs.parameters(), lr=0.01)
    return _epoch_pair(torch, ours, theirs, images, labels, optimizers)
