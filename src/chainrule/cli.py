"""The ``chainrule`` command: parses arguments, calls the library, prints. No logic of its own.

Exit codes: 0 success, 1 failure (bad data, a missing file, a NaN loss), 2 usage error. Failures
print one line starting with ``chainrule: error:``, never a traceback.
"""

import argparse
import os
import sys

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["main"]

APPS = ("digits", "xor")


def _print_confusion(matrix):
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("     " + " ".join(f"{c:>4}" for c in range(matrix.shape[1])))
    for row, counts in enumerate(matrix):
        print(f"{row:>4} " + " ".join(f"{int(v):>4}" for v in counts))


def _train_digits(args):
    from chainrule.apps.digits import train_digits
    run = train_digits(out=args.out, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    print(f"test accuracy {run.test_accuracy:.4f} on the held-out 25% of the digits, after {run.epochs} epochs")
    _print_confusion(run.confusion)
    for name, path in run.files.items():
        print(f"{name}: {path}")
    return 0


def _train_xor(args):
    from chainrule.apps.xor import train_xor, truth_table
    run = train_xor(lr=args.lr, threshold=args.threshold, max_steps=args.max_steps, seed=args.seed)
    status = "converged" if run.converged else "did NOT converge"
    print(f"XOR 2-2-1 sigmoid network, MSE loss, gradient descent (lr={args.lr}): {status} after "
          f"{len(run.losses)} steps, loss {run.losses[0]:.4f} -> {run.losses[-1]:.4f}")
    print(truth_table(run))
    return 0 if run.converged else 1


def _train(args):
    return _train_xor(args) if args.app == "xor" else _train_digits(args)


def _evaluate(args):
    from chainrule.apps.digits import evaluate_digits
    accuracy, confusion = evaluate_digits(checkpoint=args.checkpoint, seed=args.seed)
    print(f"test accuracy {accuracy:.4f}")
    _print_confusion(confusion)
    return 0


def _predict(args):
    from chainrule.apps.digits import predict_digits
    images = np.load(args.input, allow_pickle=False)
    labels, probabilities = predict_digits(images, checkpoint=args.checkpoint)
    for i, (label, probability) in enumerate(zip(labels, probabilities)):
        print(f"{i}: digit {label} (probability {probability:.3f})")
    return 0


def _explain(args):
    if args.example == "digits":
        return _explain_digits(args)
    from chainrule.explain.examples import explain_example, gradcheck_example
    if args.gradcheck:
        print(gradcheck_example(args.example, seed=args.seed))
        return 0
    text = explain_example(args.example, steps=args.steps, fmt=args.format, lang=args.lang, seed=args.seed)
    if args.out is None:
        print(text)
        return 0
    from pathlib import Path
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, out)
    print(f"wrote {out}")
    return 0


def _explain_digits(args):
    from chainrule.apps.digits import explain_digits
    rows = explain_digits(checkpoint=args.checkpoint, out=args.out or "runs/demo/saliency", seed=args.seed)
    for row in rows:
        print(f"digit {row['true']} predicted {row['predicted']}: integrated gradients complete to "
              f"{100 * row['completeness_error']:.2f}% -> {row['path']}")
    return 0


def _info(args):
    from chainrule.environment import describe
    facts = describe()
    for key in ("chainrule", "python", "numpy", "blas", "platform"):
        print(f"{key}: {facts[key]}")
    for module, extra in facts["extras"].items():
        print(f"{module}: {'found' if extra['found'] else 'missing'} - {extra['purpose']}")
    return 0


def _add_training_options(parser, epochs, lr, batch_size):
    parser.add_argument("--epochs", type=int, default=epochs, help=f"most epochs to train (default {epochs})")
    parser.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"batch size (default {batch_size})")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")


def _parser():
    parser = argparse.ArgumentParser(prog="chainrule", description="Backpropagation end to end, fast and visible.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="train a CNN on the bundled handwritten digits, with augmentation, "
                                            "early stopping and plots in runs/demo/")
    _add_training_options(demo, epochs=60, lr=3e-3, batch_size=64)
    demo.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    demo.set_defaults(handler=_train_digits)

    train = commands.add_parser("train", help="train an application: " + ", ".join(APPS))
    train.add_argument("app", choices=APPS)
    _add_training_options(train, epochs=60, lr=None, batch_size=64)
    train.add_argument("--out", default=None, help="run folder (default runs/<app>)")
    train.add_argument("--threshold", type=float, default=0.005, help="xor: stop when the MSE falls below this")
    train.add_argument("--max-steps", type=int, default=20000, help="xor: give up after this many steps")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved digits model")
    evaluate.add_argument("--checkpoint", default="runs/demo/checkpoint.npz")
    evaluate.add_argument("--seed", type=int, default=0, help="the seed the model was trained with (its split)")
    evaluate.set_defaults(handler=_evaluate)

    predict = commands.add_parser("predict", help="digits for 8x8 images in a .npy file (values in [0, 1])")
    predict.add_argument("input", help="a .npy file holding an (8, 8) or (N, 8, 8) array")
    predict.add_argument("--checkpoint", default="runs/demo/checkpoint.npz")
    predict.set_defaults(handler=_predict)

    explain = commands.add_parser("explain", help="every number of backprop for the article's networks, step by step")
    explain.add_argument("example", choices=("xor", "article-net", "digits"),
                         help="an article network traced step by step, or the trained digits CNN's saliency")
    explain.add_argument("--steps", type=int, default=1, help="training steps to trace (default 1)")
    explain.add_argument("--format", choices=("text", "md", "html", "table"), default="text",
                         help="plain text, Markdown with LaTeX, one self-contained HTML page, or rich tables")
    explain.add_argument("--lang", choices=("en", "zh"), default="en", help="English or Chinese (default en)")
    explain.add_argument("--out", default=None, help="write to this file instead of printing")
    explain.add_argument("--seed", type=int, default=0, help="seed of the initial weights (digits: of the split)")
    explain.add_argument("--saliency", action="store_true",
                         help="digits: integrated-gradients overlays of held-out digits (the default for digits)")
    explain.add_argument("--checkpoint", default="runs/demo/checkpoint.npz", help="digits: the trained model")
    explain.add_argument("--gradcheck", action="store_true",
                         help="instead of the trace, compare every parameter's gradient with finite differences")
    explain.set_defaults(handler=_explain)

    info = commands.add_parser("info", help="versions, BLAS and the optional extras found")
    info.set_defaults(handler=_info)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "command", None) == "train":
        if args.lr is None:
            args.lr = 2.0 if args.app == "xor" else 3e-3
        if args.out is None:
            args.out = f"runs/{args.app}"
    try:
        return args.handler(args)
    except (ChainruleError, OSError, ValueError) as exc:
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
