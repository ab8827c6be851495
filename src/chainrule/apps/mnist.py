"""Handwritten digits, the classic MNIST: a small CNN with rotation, shift, zoom and elastic distortion.

``chainrule train mnist --data PATH`` reads the data from the user's copy (a folder with the four
IDX files, or an .npz with x_train, y_train, x_test, y_test), holds out 5,000 training images for
validation and reports the accuracy on the official 10,000 test images beside logistic regression
on the pixels. The recipe is shared with ``fashion-mnist`` (see ``_image_classifier``).
"""

from chainrule.apps import _image_classifier as recipe
from chainrule.data import transforms as T

__all__ = ["SUMMARY", "TASK", "augmentation", "add_arguments", "train", "add_predict_arguments", "predict"]

SUMMARY = "a CNN on MNIST's handwritten digits (--data: a folder of IDX files or an .npz)"

EPOCHS = 16


def augmentation(seed):
    """Rotations of up to 8 degrees, shifts of up to 2 pixels and zooms of 7%, then a mild elastic
    distortion (Simard et al., 2003): variations of handwriting that keep a digit's identity, kept
    small enough for a small network to fit them in sixteen epochs."""
    return T.Compose([T.RandomAffine(degrees=8, translate=(0.08, 0.08), scale=(0.93, 1.07), seed=seed),
                      T.ElasticDistortion(alpha=24.0, sigma=4.0, seed=seed + 1)])


TASK = recipe.ImageTask(name="mnist", class_names=[str(d) for d in range(10)], augmentation=augmentation,
                        target=0.992, answer="digit {name}", channels=(32, 64, 64),
                        dropout=(0.1, 0.2))


def add_arguments(parser):
    """``chainrule train mnist`` options."""
    recipe.add_arguments(parser, epochs=EPOCHS)


def train(out="runs/mnist", data=None, seed=0, epochs=EPOCHS, **options):
    """Train the CNN on MNIST at ``data``; see ``_image_classifier.train_task`` for the options."""
    return recipe.train_task(TASK, out, data=data, seed=seed, epochs=epochs, **options)


def add_predict_arguments(parser):
    """``chainrule predict mnist IMAGE.png|IMAGES.npy``."""
    recipe.add_predict_arguments(parser)


def predict(inputs, run="runs/mnist"):
    """The digit in each image, with its probability, one line each."""
    return recipe.predict_task(TASK, inputs, run)
