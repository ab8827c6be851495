"""Tic-tac-toe: a value network that learns by self-play to never lose.

The network scores *afterstates*, the board just after a move, from the point of view of the side
that made it: 18 inputs (that side's marks, the other side's marks), two ReLU layers and a tanh
output in [-1, 1] (lose ... win). To move, the player scores every legal move's afterstate and
takes the best; a move that ends the game is scored by the rules (1 for a win, 0 for a draw).
One network plays both X and O.

Training is self-play with TD(0) and a minimax backup: batches of games are played by the
network itself (each move random with probability ``explore``, 0.5 by default, to see more
positions), and every afterstate they pass by, chosen or not, gets the target ``-max`` over the
opponent's replies of the network's own score of those replies (the opponent's best reply decides
what a move is worth). The targets come from the network, not from a solver; the solver
(``_tictactoe_game.game_value``) only checks the result.

Every 20 batches the player is checked exhaustively, as X and as O, against every sequence of
opponent replies; training stops when, on both sides, it makes no losing move and lets no forced
win slip (or when the game budget is spent). It is then measured over 1,000 games against a
random player and against a perfect (minimax) player on each side, beside the baselines: a random
player, and a one-step lookahead (win if possible, else block, else random).
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps import _tictactoe_game as game
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure, read_checkpoint
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F

__all__ = ["SUMMARY", "build_network", "network_player", "TicTacToeRun", "train_selfplay", "add_arguments", "train",
           "add_predict_arguments", "predict", "save_network", "load_network", "check_both_sides"]

SUMMARY = "a value network trained by self-play (TD(0) over afterstates) that never loses at tic-tac-toe"

_LINES = np.array(game.LINES)


def build_network(hidden=128):
    """Afterstate (18: the mover's marks, the other side's marks) -> two ReLU layers -> tanh score."""
    return nn.Sequential(nn.Linear(18, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1), nn.Tanh())


def _features(boards, side):
    """Afterstates (..., 9) seen by ``side`` (who just moved) -> (..., 18) float32 inputs."""
    boards = np.asarray(boards)
    return np.concatenate([boards == side, boards == -side], axis=-1).astype(np.float32)


def _afterstates(boards, side):
    """Every square marked by ``side`` in each board: (n, 9) -> (n, 9 moves, 9), and which moves are legal."""
    candidates = np.repeat(boards[:, None, :], 9, axis=1)
    squares = np.arange(9)
    legal = boards == game.EMPTY
    candidates[:, squares, squares] = np.where(legal, side, boards)
    return candidates, legal


def _scores(network, afterstates, side):
    """Each afterstate's worth to ``side`` (who just moved): 1 for a win, 0 for a full board, else the network's.

    Returns the scores (same leading shape as ``afterstates``) and which afterstates end the game.
    """
    line_sums = afterstates[..., _LINES].sum(-1)
    won = (line_sums == 3 * side).any(-1)
    over = won | (afterstates != game.EMPTY).all(-1)
    scores = won.astype(np.float64)
    if (~over).any():
        with cr.no_grad():
            scores[~over] = network(cr.tensor(_features(afterstates[~over], side))).numpy()[:, 0]
    return scores, over


def network_player(network):
    """A deterministic player ``board -> square``: the legal move whose afterstate scores highest."""
    def player(board, rng=None):
        side = game.to_move(board)
        candidates, legal = _afterstates(np.array([board], dtype=np.int8), side)
        scores, _ = _scores(network, candidates[0], side)
        return int(np.where(legal[0], scores, -np.inf).argmax())
    return player


def _selfplay_batch(network, games, explore, rng):
    """Play ``games`` self-play games side by side; return every afterstate met and its TD target.

    An afterstate is "met" when it was a legal, non-final move option in some game. Its target is
    minus the best score among the opponent's replies (network scores, or the rules' for final ones).
    """
    boards = np.zeros((games, 9), dtype=np.int8)
    playing = np.ones(games, dtype=bool)
    inputs, targets = [], []
    for ply in range(9):
        side = game.X if ply % 2 == 0 else game.O
        candidates, legal = _afterstates(boards, side)
        scores, over = _scores(network, candidates, side)
        met = playing[:, None] & legal & ~over
        if met.any():
            replies, reply_legal = _afterstates(candidates[met], -side)
            reply_scores, _ = _scores(network, replies, -side)
            inputs.append(_features(candidates[met], side))
            targets.append(-np.where(reply_legal, reply_scores, -np.inf).max(1))
        scores = np.where(legal, scores, -np.inf)
        moves = scores.argmax(1)
        explore_now = rng.random(games) < explore
        random_moves = np.array([rng.choice(np.flatnonzero(row)) if row.any() else 0 for row in legal])
        moves = np.where(explore_now, random_moves, moves)
        chosen = np.arange(games)
        boards = np.where(playing[:, None], candidates[chosen, moves], boards)
        playing &= ~over[chosen, moves]
        if not playing.any():
            break
    return np.concatenate(inputs), np.concatenate(targets).astype(np.float32)


@dataclass
class TicTacToeRun:
    """A trained network, the loss per batch, the exhaustive checks made, and why training stopped."""
    network: nn.Module
    losses: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    games: int = 0
    stopped: str = ""
    seconds: float = 0.0


def check_both_sides(network):
    """``check_never_loses`` for the network's player as X and as O."""
    player = network_player(network)
    return game.check_never_loses(player, game.X), game.check_never_loses(player, game.O)


def train_selfplay(seed=0, hidden=128, lr=3e-3, games_per_batch=32, explore=0.5, max_games=50000, check_every=20,
                   steps_per_batch=2, progress=None):
    """Train the afterstate value network by self-play until it never loses (see the module docstring).

    Args:
        seed: seeds the network and the self-play games.
        hidden: units per hidden layer.
        lr: Adam's step size.
        games_per_batch: self-play games per batch of TD targets.
        explore: probability of a random move at each turn of self-play.
        max_games: give up after this many self-play games (the run then says it did not reach the target).
        check_every: batches between exhaustive checks.
        steps_per_batch: Adam steps on each batch of targets.
        progress: a callable given a line of text after each check, or None.
    """
    watch = Stopwatch()
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = build_network(hidden)
    optimizer = cr.optim.Adam(network.parameters(), lr=lr)
    run = TicTacToeRun(network)
    batches = 0
    while True:
        inputs, targets = _selfplay_batch(network, games_per_batch, explore, rng)
        run.games += games_per_batch
        batches += 1
        inputs, targets = cr.tensor(inputs), cr.tensor(targets)
        for _ in range(steps_per_batch):
            loss = F.mse_loss(network(inputs)[:, 0], targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        run.losses.append(loss.item())
        if batches % check_every == 0:
            as_x, as_o = check_both_sides(network)
            run.checks.append({"games": run.games, "losing_moves": [as_x.losing_moves, as_o.losing_moves],
                               "missed_wins": [as_x.missed_wins, as_o.missed_wins]})
            if progress is not None:
                progress(f"{run.games} self-play games: losing moves as X {as_x.losing_moves}, as O "
                         f"{as_o.losing_moves}; missed wins {as_x.missed_wins}, {as_o.missed_wins}")
            if as_x.never_loses and as_o.never_loses and as_x.missed_wins + as_o.missed_wins == 0:
                run.stopped = "no losing move and no missed win as X or as O against every opponent reply"
                break
        if run.games >= max_games:
            run.stopped = f"reached --max-games {max_games}"
            break
    run.seconds = watch.seconds
    return run


def save_network(network, path, hidden):
    """Write the network's weights (and the hidden size to rebuild it) to ``path``."""
    cr.save({"network": network.state_dict(), "hidden": hidden}, path)


def load_network(path):
    """The network saved by ``save_network``."""
    state = read_checkpoint("tictactoe", path, ("network", "hidden"))
    network = build_network(int(state["hidden"]))
    network.load_state_dict(state["network"])
    return network


def _matches(player, games, seed):
    """``player``'s results on each side against a random and a minimax player (``games`` games each)."""
    results = {}
    for opponent_name, opponent in (("random", game.random_player), ("minimax", game.minimax_player)):
        for side in (game.X, game.O):
            key = f"as {game.side_name(side)} vs {opponent_name}"
            # Each match has its own seed, the same for every player measured.
            results[key] = game.play_match(player, opponent, side, games, seed=[seed, len(results)])
    return results


def add_arguments(parser):
    """``chainrule train tictactoe`` options."""
    parser.add_argument("--hidden", type=int, default=128, help="units per hidden layer (default 128)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's step size (default 3e-3)")
    parser.add_argument("--games-per-batch", type=int, default=32, help="self-play games per batch (default 32)")
    parser.add_argument("--explore", type=float, default=0.5,
                        help="chance of a random move at each self-play turn (default 0.5)")
    parser.add_argument("--max-games", type=int, default=50000, help="most self-play games (default 50000)")
    parser.add_argument("--eval-games", type=int, default=1000,
                        help="games per side against each opponent when measuring (default 1000)")


def train(out="runs/tictactoe", data=None, seed=0, hidden=128, lr=3e-3, games_per_batch=32, explore=0.5,
          max_games=50000, eval_games=1000, progress=print):
    """Train by self-play, check exhaustively, play the measured matches, and write the run folder ``out``.

    The folder gets metrics.json (wins/draws/losses of the network and of the baselines against a
    random and a minimax player on each side, the exhaustive check), td_loss.png and checkpoint.npz.
    """
    if data is not None:
        raise ChainruleError(f"train tictactoe: the network learns by self-play; expected no --data, got {data!r}.")
    for name, value in (("hidden", hidden), ("games-per-batch", games_per_batch), ("max-games", max_games),
                        ("eval-games", eval_games)):
        if not isinstance(value, int) or value < 1:
            raise ChainruleError(f"train tictactoe: --{name} must be a positive integer; got {value!r}.")
    if not 0.0 <= explore <= 1.0:
        raise ChainruleError(f"train tictactoe: --explore is a probability; expected 0 to 1, got {explore!r}.")
    watch = Stopwatch()
    run = train_selfplay(seed=seed, hidden=hidden, lr=lr, games_per_batch=games_per_batch, explore=explore,
                         max_games=max_games, progress=progress)
    as_x, as_o = check_both_sides(run.network)
    network = _matches(network_player(run.network), eval_games, seed)
    baselines = {"random player": _matches(game.random_player, eval_games, seed),
                 "one-step lookahead": _matches(game.lookahead_player, eval_games, seed)}

    folder = RunFolder(out)
    save_network(run.network, folder.checkpoint, hidden)
    curve = folder.learning_curves({"loss": run.losses}, name="td_loss.png", xlabel="batch")
    games = f"{eval_games:,} games"
    measures = []
    for side in ("X", "O"):
        key = f"as {side} vs random"
        measures.append(measure(f"losses vs a random player as {side} ({games})", network[key]["losses"], target=0,
                                baseline=baselines["random player"][key]["losses"],
                                baseline_name="random player", higher_is_better=False))
    for side in ("X", "O"):
        key = f"as {side} vs minimax"
        measures.append(measure(f"draws vs a minimax player as {side} ({games})", network[key]["draws"],
                                target=eval_games, baseline=baselines["one-step lookahead"][key]["draws"],
                                baseline_name="one-step lookahead"))
    measures.append(measure("losing moves against every opponent reply (as X and as O)",
                            as_x.losing_moves + as_o.losing_moves, target=0, higher_is_better=False))
    check = {side: {"positions": c.positions, "losing_moves": c.losing_moves, "missed_wins": c.missed_wins,
                    "examples": c.examples} for side, c in (("X", as_x), ("O", as_o))}
    metrics_path = folder.write_metrics("tictactoe", {
        "command": command_line("tictactoe", seed=seed, hidden=hidden, lr=lr, games_per_batch=games_per_batch,
                                explore=explore, max_games=max_games, eval_games=eval_games),
        "seed": seed, "seconds": watch.seconds, "training_seconds": run.seconds, "selfplay_games": run.games,
        "stopped": run.stopped, "exhaustive_check": check, "checks_during_training": run.checks,
        "matches": {"network": network, **baselines}, "measures": measures})
    lines = [f"tic-tac-toe value network: {run.games} self-play games in {run.seconds:.1f} s ({run.stopped})",
             f"exhaustive check: losing moves as X {as_x.losing_moves} over {as_x.positions} positions, as O "
             f"{as_o.losing_moves} over {as_o.positions}; missed wins {as_x.missed_wins}, {as_o.missed_wins}"]
    for name, results in (("network", network), *baselines.items()):
        lines.append(f"{name:>18}: " + "; ".join(
            f"{key} {r['wins']}/{r['draws']}/{r['losses']}" for key, r in results.items()) + " (wins/draws/losses)")
    files = {"td_loss": str(curve), "checkpoint": str(folder.checkpoint), "metrics": str(metrics_path)}
    return AppResult(metrics={"losing_moves": as_x.losing_moves + as_o.losing_moves, "selfplay_games": run.games},
                     lines=lines, files=files)


def add_predict_arguments(parser):
    """``chainrule predict tictactoe X.O......``."""
    parser.add_argument("inputs", nargs="+",
                        help="boards as 9 characters in reading order: X, O and . for an empty square")


def predict(inputs, run="runs/tictactoe"):
    """The network's move for each board (the side to move follows from the counts of X and O), one line each."""
    boards = [game.parse_board(text, owner="predict tictactoe") for text in inputs]
    for text, board in zip(inputs, boards):
        if game.is_over(board):
            won = game.winner(board)
            outcome = f"{game.side_name(won)} has won" if won else "the board is full"
            raise ChainruleError(f"predict tictactoe: the game on {text!r} is over ({outcome}); expected a board "
                                 "with a move left to play.")
    network = load_network(Path(run) / "checkpoint.npz")
    player = network_player(network)
    lines = []
    for text, board in zip(inputs, boards):
        side = game.side_name(game.to_move(board))
        square = player(board)
        after = game.play_move(board, square)
        verdict = "a minimax-best move" if square in game.best_moves(board) else "NOT a minimax-best move"
        lines.append(f"{text}: {side} to move -> square {square + 1} (row {square // 3 + 1}, column "
                     f"{square % 3 + 1}), giving {game.board_text(after)} ({verdict})")
    return lines
