"""The ``chainrule`` command: parses arguments, calls the library, prints. No logic of its own.

Exit codes: 0 success, 1 failure (bad data, a missing file, a NaN loss), 2 usage error. Failures
print one line starting with ``chainrule: error:``, never a traceback.
"""

import argparse
import os
import sys

from chainrule.apps import APPS, load_app
from chainrule.errors import ChainruleError

__all__ = ["main"]

# The demo trains the digits CNN for fewer epochs than `train digits` (100, above 99%): about
# half a minute, above 98.5%.
DEMO_EPOCHS = 60


def _options(args):
    """The parsed options meant for the application: all but the command's own bookkeeping."""
    return {key: value for key, value in vars(args).items() if key not in ("command", "app", "handler")}


def _train(args):
    from chainrule.performance import keep_large_allocations, use_compiled_kernels
    keep_large_allocations()  # this command owns its process; see chainrule.performance
    use_compiled_kernels()  # where numba is installed (the fast extra); NumPy otherwise
    result = load_app(args.app).train(**_options(args))
    for line in result.lines:
        print(line)
    for name, path in result.files.items():
        print(f"{name}: {path}")
    return 0 if result.succeeded else 1


def _predict(args):
    for line in load_app(args.app).predict(**_options(args)):
        print(line)
    return 0


def _evaluate(args):
    from chainrule.apps.digits import confusion_text, evaluate_digits
    accuracy, confusion = evaluate_digits(checkpoint=args.checkpoint, seed=args.seed)
    print(f"test accuracy {accuracy:.4f}")
    print(confusion_text(confusion))
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


def _add_app_training(parser, name, app, out):
    parser.add_argument("--data", default=None, help="where the data is (a file or folder; "
                                                     "not needed where the application brings its own)")
    parser.add_argument("--out", default=out, help=f"run folder (default {out})")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    app.add_arguments(parser)
    parser.set_defaults(handler=_train, app=name)


def _parser():
    parser = argparse.ArgumentParser(prog="chainrule", description="Backpropagation end to end, fast and visible.")
    commands = parser.add_subparsers(dest="command", required=True)
    apps = {name: load_app(name) for name in APPS}

    demo = commands.add_parser("demo", help=f"train a CNN on the bundled handwritten digits for {DEMO_EPOCHS} "
                                            "epochs, with augmentation, and write plots to runs/demo/")
    _add_app_training(demo, "digits", apps["digits"], out="runs/demo")
    demo.set_defaults(epochs=DEMO_EPOCHS)

    train = commands.add_parser("train", help="train an application and write runs/<name>/")
    train_apps = train.add_subparsers(dest="app", required=True, metavar="application")
    for name, app in apps.items():
        _add_app_training(train_apps.add_parser(name, help=app.SUMMARY, description=app.SUMMARY), name, app,
                          out=f"runs/{name}")

    predict = commands.add_parser("predict", help="answer for new inputs with a trained application")
    predict_apps = predict.add_subparsers(dest="app", required=True, metavar="application")
    for name, app in apps.items():
        if hasattr(app, "predict"):
            sub = predict_apps.add_parser(name, help=app.SUMMARY)
            sub.add_argument("--run", default=f"runs/{name}", help=f"the trained run folder (default runs/{name})")
            app.add_predict_arguments(sub)
            sub.set_defaults(handler=_predict, app=name)

    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved digits model")
    evaluate.add_argument("--checkpoint", default="runs/demo/checkpoint.npz")
    evaluate.add_argument("--seed", type=int, default=0, help="the seed the model was trained with (its split)")
    evaluate.set_defaults(handler=_evaluate)

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
    try:
        return args.handler(args)
    except (ChainruleError, OSError, ValueError) as exc:
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
