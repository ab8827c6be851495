"""Tic-tac-toe: the rules and the minimax player, the exhaustive checker, the self-play targets and
learning, the app end to end (train, metrics, predict, command line) and errors for bad boards."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.apps import _tictactoe_game as game
from chainrule.apps import tictactoe
from chainrule.cli import main


def test_boards_read_and_write_in_reading_order():
    board = game.parse_board("x.O-_....")
    assert board == (game.X, 0, game.O, 0, 0, 0, 0, 0, 0)
    assert game.board_text(board) == "X.O......" and game.to_move(board) == game.X
    assert game.render(board).splitlines()[0] == " X | . | O"
    assert game.legal_moves(game.play_move(board, 4)) == [1, 3, 5, 6, 7, 8]


@pytest.mark.parametrize("text, message", [
    ("X.O", r"a board is 9 characters .* got 'X\.O' \(3 characters\)"),
    ("X.O.......", r"got 'X\.O\.\.\.\.\.\.\.' \(10 characters\)"),
    ("X.Q......", r"unknown mark 'Q' at square 3 of 'X\.Q\.\.\.\.\.\.'; expected X, O or \."),
    ("XX.......", r"has 2 X and 0 O; X moves first"),
    ("O........", r"has 0 X and 1 O"),
])
def test_bad_boards_are_refused_with_the_reason(text, message):
    with pytest.raises(cr.ChainruleError, match=message):
        game.parse_board(text)


def test_winner_and_the_end_of_the_game():
    assert game.winner(game.parse_board("XXXOO....")) == game.X
    assert game.winner(game.parse_board("OXXOX.O..")) == game.O  # the left column
    assert game.winner(game.parse_board("X.O.X.O.X")) == game.X  # a diagonal
    assert game.winner(game.parse_board("XO.......")) == game.EMPTY and not game.is_over(game.parse_board("XO......."))
    full_draw = game.parse_board("XOXXOOOXX")
    assert game.is_over(full_draw) and game.winner(full_draw) == game.EMPTY and game.game_value(full_draw) == 0
    with pytest.raises(cr.ChainruleError, match="square 1 of X........ is taken"):
        game.play_move(game.parse_board("X........"), 0)


def test_minimax_knows_the_game_value_wins_at_once_and_blocks():
    assert game.game_value(game.EMPTY_BOARD) == 0  # perfect play draws
    assert game.best_moves(game.parse_board("XX.OO....")) == [2]  # X completes the top row
    assert game.best_moves(game.parse_board("XX..O....")) == [2]  # O must block the top row
    fork = game.parse_board("X...O...X")  # O in the centre against two corners: only an edge holds the draw
    assert game.game_value(fork) == 0 and game.best_moves(fork) == [1, 3, 5, 7]
    assert game.game_value(game.parse_board("X...O..X.")) == 0
    assert game.game_value(game.parse_board("XO.......")) == game.X  # O on an edge next to X's corner loses


def test_minimax_against_minimax_always_draws_and_never_loses_to_random():
    assert game.play_match(game.minimax_player, game.minimax_player, game.X, 50, seed=0) == \
        {"wins": 0, "draws": 50, "losses": 0}
    for side in (game.X, game.O):
        results = game.play_match(game.minimax_player, game.random_player, side, 100, seed=1)
        assert results["losses"] == 0 and results["wins"] > results["draws"]


def test_the_one_step_lookahead_takes_a_win_before_blocking():
    rng = np.random.default_rng(0)
    assert game.lookahead_player(game.parse_board("XX.OO...."), rng) == 2
    assert game.lookahead_player(game.parse_board("OO.XX...X"), rng) == 2  # O wins at square 3 before blocking 6
    assert game.lookahead_player(game.parse_board("XX..O...."), rng) == 2


def test_the_exhaustive_check_passes_minimax_and_catches_a_naive_player():
    first_best = lambda board: game.best_moves(board)[0]
    for side in (game.X, game.O):
        check = game.check_never_loses(first_best, side)
        assert check.never_loses and check.missed_wins == 0 and check.positions > 10
    first_empty = lambda board: game.legal_moves(board)[0]
    check = game.check_never_loses(first_empty, game.O)
    assert not check.never_loses and check.losing_moves > 0
    board, played, best = check.examples[0]
    assert played - 1 not in [b - 1 for b in best] and played - 1 == game.legal_moves(game.parse_board(board))[0]


def test_selfplay_targets_are_minus_the_opponents_best_reply():
    cr.manual_seed(0)
    network = tictactoe.build_network(hidden=8)
    inputs, targets = tictactoe._selfplay_batch(network, games=16, explore=0.5, rng=np.random.default_rng(0))
    assert inputs.shape == (len(targets), 18) and np.all(np.abs(targets) <= 1)
    for features, target in zip(inputs, targets):
        mover, other = features[:9].astype(int), features[9:].astype(int)
        assert mover.sum() - other.sum() in (0, 1)  # the side that just moved has as many marks or one more
        board = tuple(mover - other)  # from the mover's side: +1 its marks, -1 the opponent's
        reply_wins = any(game.winner(board[:m] + (-1,) + board[m + 1:]) == -1 for m in game.legal_moves(board))
        if reply_wins:  # the rules score the opponent's winning reply 1, so this afterstate is worth -1
            assert target == -1.0
        else:
            assert target > -1.0


def test_selfplay_training_reduces_the_losing_moves():
    cr.manual_seed(0)
    untrained = sum(check.losing_moves for check in tictactoe.check_both_sides(tictactoe.build_network()))
    run = tictactoe.train_selfplay(seed=0, max_games=960, check_every=1000)
    trained = sum(check.losing_moves for check in tictactoe.check_both_sides(run.network))
    assert run.games == 960 and len(run.losses) == 30 and trained < untrained


def test_train_writes_the_run_folder_and_predict_answers_for_boards(tmp_path):
    out = tmp_path / "tictactoe"
    result = tictactoe.train(out=out, seed=2, max_games=64, eval_games=20, progress=None)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["app"] == "tictactoe" and metrics["selfplay_games"] == 64 == result.metrics["selfplay_games"]
    assert metrics["command"].startswith("chainrule train tictactoe --seed 2")
    for name in ("network", "random player", "one-step lookahead"):
        for key, results in metrics["matches"][name].items():
            assert sum(results.values()) == 20, (name, key)
    assert metrics["matches"]["random player"]["as X vs minimax"]["wins"] == 0
    first = metrics["measures"][0]
    assert first["name"] == "losses vs a random player as X (20 games)"
    assert first["value"] == metrics["matches"]["network"]["as X vs random"]["losses"]
    assert metrics["measures"][-1]["value"] == sum(metrics["exhaustive_check"][s]["losing_moves"] for s in "XO")
    assert (out / "td_loss.png").read_bytes()[:4] == b"\x89PNG"

    lines = tictactoe.predict(["X.O......", "XX.OO...."], run=out)
    assert lines[0].startswith("X.O......: X to move -> square ") and len(lines) == 2
    square = int(lines[1].split("square ")[1].split()[0])
    network = tictactoe.load_network(out / "checkpoint.npz")
    assert square - 1 == tictactoe.network_player(network)(game.parse_board("XX.OO...."))
    assert f"giving {game.board_text(game.play_move(game.parse_board('XX.OO....'), square - 1))}" in lines[1]


def test_the_command_line_trains_and_predicts(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "tictactoe", "--out", out, "--max-games", "32", "--eval-games", "5"]) == 0
    printed = capsys.readouterr().out
    assert "tic-tac-toe value network: 32 self-play games" in printed and "exhaustive check" in printed
    assert main(["predict", "tictactoe", "--run", out, "XO.X....O"]) == 0
    assert capsys.readouterr().out.startswith("XO.X....O: X to move -> square ")


@pytest.mark.parametrize("board, message", [
    ("XO", "a board is 9 characters"),
    ("X.O...Z..", "unknown mark 'Z' at square 7"),
    ("XXXOO....", "the game on 'XXXOO....' is over \\(X has won\\)"),
    ("XOXXOOOXX", "the game on 'XOXXOOOXX' is over \\(the board is full\\)"),
])
def test_predict_refuses_bad_boards_with_one_line_errors(tmp_path, capsys, board, message):
    with pytest.raises(cr.ChainruleError, match=f"predict tictactoe: {message}"):
        tictactoe.predict([board], run=tmp_path)
    assert main(["predict", "tictactoe", "--run", str(tmp_path), board]) == 1
    assert capsys.readouterr().err.startswith("chainrule: error: predict tictactoe: ")


def test_train_and_predict_errors(tmp_path):
    with pytest.raises(cr.ChainruleError, match="expected no --data"):
        tictactoe.train(out=tmp_path, data="games.csv")
    with pytest.raises(cr.ChainruleError, match="--explore is a probability; expected 0 to 1, got 1.5"):
        tictactoe.train(out=tmp_path, explore=1.5)
    with pytest.raises(cr.ChainruleError, match="no trained model at"):
        tictactoe.predict(["........."], run=tmp_path / "missing")
