"""CartPole-v1 without gymnasium: many carts stepped at once with NumPy.

The cart-pole of Barto, Sutton and Anderson (1983) with gymnasium's CartPole-v1 constants: a
1 kg cart, a 0.1 kg pole of half-length 0.5 m, a 10 N push left (action 0) or right (action 1),
Euler steps of 0.02 s, a start state uniform in [-0.05, 0.05]^4, termination when the pole leans
past 12 degrees or the cart leaves [-2.4, 2.4], and truncation at 500 steps. The state is kept in
float64 and shown as float32, as gymnasium does, so the same start and the same actions give the
same observations (tests/apps/test_cartpole.py checks this against gymnasium itself).

Stepping a whole batch costs about as much as stepping one cart, which is what makes training
fast in pure Python: one policy forward pass per time step for every cart together.
"""

import math

import numpy as np

from chainrule.errors import ChainruleError, ShapeError

__all__ = ["CartPoles", "GymnasiumCartPoles", "make_cartpoles", "TIME_LIMIT", "ENVIRONMENTS"]

GRAVITY = 9.8
CART_MASS = 1.0
POLE_MASS = 0.1
TOTAL_MASS = CART_MASS + POLE_MASS
POLE_HALF_LENGTH = 0.5
POLE_MASS_LENGTH = POLE_MASS * POLE_HALF_LENGTH
FORCE = 10.0
TAU = 0.02
ANGLE_LIMIT = 12 * 2 * math.pi / 360
POSITION_LIMIT = 2.4
TIME_LIMIT = 500

#: ``--env`` choices: chainrule's own carts, or gymnasium.make("CartPole-v1") (the ``game`` extra).
ENVIRONMENTS = ("own", "gymnasium")


class CartPoles:
    """``count`` independent CartPole-v1 episodes, stepped together.

    ``reset`` starts every episode; ``step`` advances the ones still running and leaves finished
    ones frozen (reward 0) until the next ``reset``. ``done`` marks finished episodes,
    ``terminated`` the ones that fell (pole or cart out of bounds) and ``truncated`` the ones that
    reached the 500-step limit.

    Args:
        count: how many episodes run side by side.
        seed: seeds the start states; two batches with the same seed start the same way.

    Example:
        >>> carts = CartPoles(3, seed=0)
        >>> carts.reset().shape
        (3, 4)
        >>> observations, rewards, terminated, truncated = carts.step([1, 0, 1])
        >>> rewards.tolist(), carts.steps.tolist()
        ([1.0, 1.0, 1.0], [1, 1, 1])
    """

    def __init__(self, count, seed=None):
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ChainruleError(f"CartPoles: count must be a positive integer; got {count!r}.")
        self.count = int(count)
        self.rng = np.random.default_rng(seed)
        self.state = np.zeros((self.count, 4))
        self.steps = np.zeros(self.count, dtype=np.int64)
        self.terminated = np.zeros(self.count, dtype=bool)
        self.truncated = np.zeros(self.count, dtype=bool)

    @property
    def done(self):
        """Episodes that have ended, by falling or by the time limit."""
        return self.terminated | self.truncated

    def reset(self, states=None):
        """Start every episode: from ``states`` (count, 4) if given, else uniform in [-0.05, 0.05]^4.

        Returns the float32 observations, shape (count, 4).
        """
        if states is None:
            states = self.rng.uniform(-0.05, 0.05, size=(self.count, 4))
        states = np.asarray(states, dtype=np.float64)
        if states.shape != (self.count, 4):
            raise ShapeError(f"CartPoles.reset: wrong start states; expected shape ({self.count}, 4) "
                             f"(x, x_dot, theta, theta_dot per cart), got {states.shape}.")
        self.state = states.copy()
        self.steps[:] = 0
        self.terminated[:] = False
        self.truncated[:] = False
        return self.state.astype(np.float32)

    def step(self, actions):
        """Push each running cart left (0) or right (1) for one 0.02 s Euler step.

        Returns:
            (observations (count, 4) float32, rewards (count,) 1.0 for every step taken including
            the one that fell and 0.0 for finished episodes, terminated, truncated), the last two
            the boolean arrays of episodes that are over.
        """
        actions = np.asarray(actions)
        if actions.shape != (self.count,) or not np.all((actions == 0) | (actions == 1)):
            raise ChainruleError(f"CartPoles.step: expected one action 0 or 1 per cart, shape ({self.count},); "
                                 f"got {actions.tolist() if actions.size <= 8 else actions.shape}.")
        running = ~self.done
        x, x_dot, theta, theta_dot = self.state.T
        force = np.where(actions == 1, FORCE, -FORCE)
        cos_theta, sin_theta = np.cos(theta), np.sin(theta)
        # The equations of motion, in gymnasium's order of operations so the float64 rounding matches.
        temp = (force + POLE_MASS_LENGTH * np.square(theta_dot) * sin_theta) / TOTAL_MASS
        theta_acc = (GRAVITY * sin_theta - cos_theta * temp) / (
            POLE_HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * np.square(cos_theta) / TOTAL_MASS))
        x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos_theta / TOTAL_MASS
        stepped = np.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot,
                            theta_dot + TAU * theta_acc], axis=1)
        self.state = np.where(running[:, None], stepped, self.state)
        self.steps += running
        x, theta = self.state[:, 0], self.state[:, 2]
        fell = (x < -POSITION_LIMIT) | (x > POSITION_LIMIT) | (theta < -ANGLE_LIMIT) | (theta > ANGLE_LIMIT)
        self.terminated |= running & fell
        self.truncated |= running & ~fell & (self.steps >= TIME_LIMIT)
        return self.state.astype(np.float32), running.astype(np.float64), self.terminated.copy(), \
            self.truncated.copy()


class GymnasiumCartPoles:
    """The same batch interface as ``CartPoles`` over ``gymnasium.make("CartPole-v1")`` environments.

    Each episode is its own gymnasium environment, reset with seed ``seed + i``; stepping goes
    through gymnasium's wrappers (time limit, order checks) one environment at a time.
    """

    def __init__(self, count, seed=None):
        try:
            import gymnasium
        except ImportError as exc:
            raise ChainruleError("cartpole: --env gymnasium needs gymnasium; install it with "
                                 "pip install 'chainrule[game]', or use --env own.") from exc
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ChainruleError(f"GymnasiumCartPoles: count must be a positive integer; got {count!r}.")
        self.count = int(count)
        self.seed = 0 if seed is None else int(seed)
        self.resets = 0
        self.environments = [gymnasium.make("CartPole-v1") for _ in range(self.count)]
        self.steps = np.zeros(self.count, dtype=np.int64)
        self.terminated = np.zeros(self.count, dtype=bool)
        self.truncated = np.zeros(self.count, dtype=bool)
        self._observations = np.zeros((self.count, 4), dtype=np.float32)

    @property
    def done(self):
        """Episodes that have ended, by falling or by the time limit."""
        return self.terminated | self.truncated

    def reset(self, states=None):
        """Reset every environment with its own seed (``seed + i``, moved on by ``count`` per reset).

        ``states`` must be None: gymnasium draws its own start states.
        """
        if states is not None:
            raise ChainruleError("GymnasiumCartPoles.reset: gymnasium draws its own start states; expected "
                                 "states=None, got an array (use --env own to start from given states).")
        first = self.seed + self.resets * self.count
        self.resets += 1
        for i, environment in enumerate(self.environments):
            self._observations[i] = environment.reset(seed=first + i)[0]
        self.steps[:] = 0
        self.terminated[:] = False
        self.truncated[:] = False
        return self._observations.copy()

    def step(self, actions):
        """Step each running environment with its action; finished ones stay as they were."""
        actions = np.asarray(actions)
        if actions.shape != (self.count,) or not np.all((actions == 0) | (actions == 1)):
            raise ChainruleError(f"GymnasiumCartPoles.step: expected one action 0 or 1 per environment, "
                                 f"shape ({self.count},); got {actions.shape}.")
        rewards = np.zeros(self.count)
        for i in np.flatnonzero(~self.done):
            observation, reward, terminated, truncated, _ = self.environments[i].step(int(actions[i]))
            self._observations[i] = observation
            rewards[i] = reward
            self.steps[i] += 1
            self.terminated[i] = terminated
            self.truncated[i] = truncated and not terminated
        return self._observations.copy(), rewards, self.terminated.copy(), self.truncated.copy()


def make_cartpoles(env, count, seed=None):
    """``count`` CartPole-v1 episodes side by side: ``env`` is ``"own"`` or ``"gymnasium"``."""
    if env == "own":
        return CartPoles(count, seed=seed)
    if env == "gymnasium":
        return GymnasiumCartPoles(count, seed=seed)
    raise ChainruleError(f"cartpole: unknown environment {env!r}; expected one of {', '.join(ENVIRONMENTS)}.")
