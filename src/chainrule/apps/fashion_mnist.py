"""Zalando's Fashion-MNIST: the same small CNN as ``mnist``, with mirror images and shifts.

Without ``--data`` the application reads ``/usr/share/datasets/fashion-mnist``, where the Debian
package ``dataset-fashion-mnist`` puts the four IDX files. Clothes are not handwriting: a mirrored
shirt is still a shirt, but a rotated or elastically bent one looks like another class, so the
augmentation is horizontal flips and shifts of up to two pixels.
"""

from chainrule.apps import _image_classifier as recipe
from chainrule.data import transforms as T

__all__ = ["SUMMARY", "TASK", "augmentation", "add_arguments", "train", "add_predict_arguments", "predict"]

SUMMARY = "a CNN on Zalando's Fashion-MNIST clothes (default data: the Debian package's folder)"

EPOCHS = 12
DEBIAN_FOLDER = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


def augmentation(seed):
    """Horizontal flips and shifts of up to two pixels (zero padding, then a random 28x28 window)."""
    return T.Compose([T.RandomHorizontalFlip(seed=seed), T.RandomCrop(28, padding=2, seed=seed + 1)])


TASK = recipe.ImageTask(name="fashion-mnist", class_names=CLASS_NAMES, augmentation=augmentation, target=0.91,
                        default_data=DEBIAN_FOLDER,
                        data_hint=f"Hint: apt-get install dataset-fashion-mnist (it fills {DEBIAN_FOLDER}) or "
                                  "download the four IDX files from github.com/zalandoresearch/fashion-mnist.")


def add_arguments(parser):
    """``chainrule train fashion-mnist`` options."""
    recipe.add_arguments(parser, epochs=EPOCHS)


def train(out="runs/fashion-mnist", data=None, seed=0, epochs=EPOCHS, **options):
    """Train the CNN on Fashion-MNIST; see ``_image_classifier.train_task`` for the options."""
    return recipe.train_task(TASK, out, data=data, seed=seed, epochs=epochs, **options)


def add_predict_arguments(parser):
    """``chainrule predict fashion-mnist IMAGE.png|IMAGES.npy``."""
    recipe.add_predict_arguments(parser)


def predict(inputs, run="runs/fashion-mnist"):
    """The garment in each image, with its probability, one line each."""
    return recipe.predict_task(TASK, inputs, run)
