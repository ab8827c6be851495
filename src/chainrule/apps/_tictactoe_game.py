"""Tic-tac-toe: the rules, a perfect (minimax) player, simple opponents, matches, and a proof checker.

A board is a tuple of 9 ints in reading order (squares 1-9, left to right, top to bottom):
``X = 1``, ``O = -1``, ``EMPTY = 0``. X moves first. ``game_value`` is the outcome under perfect
play by both sides (+1 X wins, 0 draw, -1 O wins), memoised over the 5,478 legal positions.

``check_never_loses`` walks every position a deterministic player can meet when the opponent may
answer with any legal move, and counts its mistakes against minimax; zero "losing moves" proves
the player never loses, whatever the opponent does.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["X", "O", "EMPTY", "LINES", "EMPTY_BOARD", "parse_board", "board_text", "render", "winner",
           "to_move", "legal_moves", "is_over", "play_move", "game_value", "best_moves", "random_player",
           "lookahead_player", "minimax_player", "play_game", "play_match", "Check", "check_never_loses",
           "side_name"]

X, O, EMPTY = 1, -1, 0
EMPTY_BOARD = (EMPTY,) * 9
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
_SYMBOLS = {X: "X", O: "O", EMPTY: "."}
_READ = {"X": X, "O": O, ".": EMPTY, "-": EMPTY, "_": EMPTY}


def side_name(side):
    """``"X"`` or ``"O"``."""
    return _SYMBOLS[side]


def parse_board(text, owner="tictactoe"):
    """The board written as 9 characters in reading order: X, O, and . (or - or _) for an empty square.

    Raises a ChainruleError naming ``owner`` for a wrong length, an unknown character, or counts
    of X and O that no game can reach (X moves first, so X has as many marks as O or one more).

    >>> parse_board("X.O......")
    (1, 0, -1, 0, 0, 0, 0, 0, 0)
    """
    if not isinstance(text, str) or len(text) != 9:
        raise ChainruleError(f"{owner}: a board is 9 characters in reading order (X, O and . for empty), "
                             f"such as X.O......; got {text!r}" + (f" ({len(text)} characters)." if
                                                                  isinstance(text, str) else "."))
    squares = []
    for position, character in enumerate(text.upper()):
        if character not in _READ:
            raise ChainruleError(f"{owner}: unknown mark {text[position]!r} at square {position + 1} of {text!r}; "
                                 "expected X, O or . (empty).")
        squares.append(_READ[character])
    crosses, noughts = squares.count(X), squares.count(O)
    if crosses - noughts not in (0, 1):
        raise ChainruleError(f"{owner}: {text!r} has {crosses} X and {noughts} O; X moves first, so expected as "
                             "many X as O or one more.")
    return tuple(squares)


def board_text(board):
    """The 9-character form of a board, e.g. ``X.O......``."""
    return "".join(_SYMBOLS[v] for v in board)


def render(board):
    """The board as three lines, e.g. `` X | . | O``."""
    rows = [" " + " | ".join(_SYMBOLS[v] for v in board[r * 3:r * 3 + 3]) for r in range(3)]
    return "\n---+---+---\n".join(rows)


def winner(board):
    """``X`` or ``O`` if that side has three in a line, else ``EMPTY`` (0)."""
    for a, b, c in LINES:
        if board[a] != EMPTY and board[a] == board[b] == board[c]:
            return board[a]
    return EMPTY


def to_move(board):
    """Whose turn it is: X when the marks are even, else O."""
    return X if board.count(X) == board.count(O) else O


def legal_moves(board):
    """The empty squares (0-8)."""
    return [i for i, v in enumerate(board) if v == EMPTY]


def is_over(board):
    """True when a side has a line or the board is full."""
    return winner(board) != EMPTY or EMPTY not in board


def play_move(board, square):
    """The board after the side to move marks ``square`` (0-8)."""
    if board[square] != EMPTY:
        raise ChainruleError(f"tictactoe: square {square + 1} of {board_text(board)} is taken; expected an empty one.")
    return board[:square] + (to_move(board),) + board[square + 1:]


@lru_cache(maxsize=None)
def game_value(board):
    """The outcome with perfect play from ``board``: +1 X wins, 0 draw, -1 O wins.

    >>> game_value(EMPTY_BOARD)
    0
    >>> game_value(parse_board("XX.OO...."))  # X to move completes the top row
    1
    """
    won = winner(board)
    if won != EMPTY or EMPTY not in board:
        return won
    side = to_move(board)
    return side * max(side * game_value(play_move(board, m)) for m in legal_moves(board))


def best_moves(board):
    """Every move that keeps the best outcome for the side to move (minimax), in square order."""
    side = to_move(board)
    values = {m: side * game_value(play_move(board, m)) for m in legal_moves(board)}
    best = max(values.values())
    return [m for m, v in values.items() if v == best]


def random_player(board, rng):
    """A legal move chosen uniformly at random."""
    moves = legal_moves(board)
    return moves[rng.integers(len(moves))]


def lookahead_player(board, rng):
    """One-step lookahead: win now if possible, else block the opponent's immediate win, else random."""
    side = to_move(board)
    moves = legal_moves(board)
    for target in (side, -side):
        for m in moves:
            if winner(board[:m] + (target,) + board[m + 1:]) == target:
                return m
    return moves[rng.integers(len(moves))]


def minimax_player(board, rng):
    """A perfect player: a minimax-best move, chosen at random among equally good ones."""
    moves = best_moves(board)
    return moves[rng.integers(len(moves))]


def play_game(x_player, o_player, rng, start=EMPTY_BOARD):
    """Play one game from ``start``; returns the winner (X, O) or EMPTY for a draw."""
    board = start
    while not is_over(board):
        player = x_player if to_move(board) == X else o_player
        board = play_move(board, player(board, rng))
    return winner(board)


def play_match(player, opponent, side, games, seed=0):
    """``games`` games of ``player`` on ``side`` (X or O) against ``opponent``: a dict of wins, draws, losses."""
    rng = np.random.default_rng(seed)
    counts = {"wins": 0, "draws": 0, "losses": 0}
    for _ in range(games):
        players = (player, opponent) if side == X else (opponent, player)
        won = play_game(*players, rng)
        counts["draws" if won == EMPTY else "wins" if won == side else "losses"] += 1
    return counts


@dataclass
class Check:
    """What ``check_never_loses`` found for one side.

    ``positions``: distinct positions where the player had to move; ``losing_moves``: moves that
    turned a position it could hold (draw or win) into a lost one; ``missed_wins``: moves that
    let a forced win slip to a draw. ``never_loses`` is True when there are no losing moves.
    """
    side: int
    positions: int
    losing_moves: int
    missed_wins: int
    examples: list

    @property
    def never_loses(self):
        return self.losing_moves == 0


def check_never_loses(player, side):
    """Check a deterministic ``player(board) -> square`` on ``side`` against every opponent reply.

    Every position reachable when the player moves as it does and the opponent plays any legal
    move is visited once; at each of the player's turns its move is compared with minimax.
    ``examples`` keeps up to five mistakes as ``(board text, square played, best squares)``.
    """
    seen, stack = set(), [EMPTY_BOARD]
    losing, missed, examples = 0, 0, []
    while stack:
        board = stack.pop()
        if board in seen or is_over(board):
            continue
        seen.add(board)
        if to_move(board) != side:
            stack.extend(play_move(board, m) for m in legal_moves(board))
            continue
        square = player(board)
        if board[square] != EMPTY:
            raise ChainruleError(f"check_never_loses: the player chose square {square + 1}, which is taken in "
                                 f"{board_text(board)}; expected an empty square.")
        after = play_move(board, square)
        before_value, after_value = side * game_value(board), side * game_value(after)
        if after_value < before_value:
            losing += after_value < 0
            missed += after_value == 0
            if len(examples) < 5:
                examples.append((board_text(board), square + 1, [m + 1 for m in best_moves(board)]))
        stack.append(after)
    positions = sum(1 for board in seen if to_move(board) == side)
    return Check(side, positions, losing, missed, examples)
