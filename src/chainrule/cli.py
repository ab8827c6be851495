"""The ``chainrule`` command: parses arguments, calls the library, prints. No logic of its own."""

import argparse
import sys

__all__ = ["main"]


def _demo(args):
    from chainrule.apps.xor import train_xor, truth_table
    run = train_xor(lr=args.lr, threshold=args.threshold, max_steps=args.max_steps, seed=args.seed)
    status = "converged" if run.converged else "did NOT converge"
    print(f"XOR 2-2-1 sigmoid network, MSE loss, gradient descent (lr={args.lr}): {status} after "
          f"{len(run.losses)} steps, loss {run.losses[0]:.4f} -> {run.losses[-1]:.4f}")
    print(truth_table(run))
    return 0 if run.converged else 1


def _parser():
    parser = argparse.ArgumentParser(prog="chainrule", description="Backpropagation end to end, fast and visible.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train the article's XOR network to convergence and print its truth table")
    demo.add_argument("--lr", type=float, default=2.0, help="gradient-descent step size (default 2.0)")
    demo.add_argument("--threshold", type=float, default=0.005, help="stop when the MSE falls below this")
    demo.add_argument("--max-steps", type=int, default=20000, help="give up after this many steps")
    demo.add_argument("--seed", type=int, default=1, help="seed of the initial weights")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
