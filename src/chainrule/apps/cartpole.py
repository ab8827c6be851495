"""CartPole-v1 balanced by an actor-critic trained with chainrule's networks, losses and gradients.

The agent is two small MLPs: an actor (4-64-2, tanh) whose softmax is the probability of pushing
left or right, and a critic (4-64-1, tanh) that estimates the discounted return from a state. Each
update plays a batch of whole episodes side by side (one forward pass per time step for all of
them), scores every action by its generalised advantage estimate (GAE, from the critic's values),
and takes one Adam step on the policy-gradient loss ``-mean(log pi(a|s) * advantage)`` (with a
small entropy bonus) and one on the critic's mean squared error. Episodes cut by the 500-step
limit are bootstrapped from the critic's value of their last state, not treated as failures.

Training stops once the last 20 training episodes all lasted 500 steps and 20 validation
episodes (the greedy policy, separate start states) do too. The agent is then judged on 100
evaluation episodes with fresh start states, acting greedily (the likelier push); CartPole-v1
counts as solved at a mean return of 475. The baselines play the very same 100 episodes: a random
policy, and the hand-written rule "push toward the side the pole leans to".
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps._cartpole_env import ENVIRONMENTS, TIME_LIMIT, make_cartpoles
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure, read_checkpoint
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F

__all__ = ["SUMMARY", "build_actor", "build_critic", "Rollout", "play", "actor_policy", "random_policy",
           "lean_policy", "CartpoleRun", "train_agent", "add_arguments", "train", "add_predict_arguments",
           "predict", "evaluate", "save_agent", "load_actor", "SOLVED_RETURN"]

SUMMARY = "an actor-critic (policy gradient with a learned baseline) that balances CartPole-v1"

#: CartPole-v1's "solved" threshold: mean return over 100 episodes.
SOLVED_RETURN = 475.0
#: Rough spread of each state variable (position, velocity, angle, angular velocity); inputs are divided by it.
STATE_SCALE = np.array([2.4, 2.0, 0.21, 2.0], dtype=np.float32)
EVALUATION_SEED = 1_000_000
VALIDATION_SEED = 2_000_000


def build_actor(hidden=64):
    """The policy: state (4) -> tanh hidden layer -> two logits (push left, push right)."""
    return nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 2))


def build_critic(hidden=64):
    """The baseline: state (4) -> tanh hidden layer -> the discounted return times (1 - gamma)."""
    return nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def _inputs(observations):
    return cr.tensor(np.asarray(observations, dtype=np.float32) / STATE_SCALE)


def actor_policy(actor, greedy=True, rng=None):
    """A policy (observations (n, 4) -> actions (n,)) that pushes as ``actor`` says.

    ``greedy`` takes the likelier push; otherwise the push is sampled from the softmax with ``rng``.
    """
    def policy(observations):
        with cr.no_grad():
            logits = actor(_inputs(observations)).numpy()
        if greedy:
            return logits.argmax(1)
        right = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))
        return (rng.random(len(right)) < right).astype(np.int64)
    return policy


def random_policy(rng):
    """The random baseline: each push left or right with probability 1/2."""
    return lambda observations: rng.integers(0, 2, size=len(observations))


def lean_policy(observations):
    """The hand-written baseline: push toward the side the pole leans to (right if theta > 0)."""
    return (np.asarray(observations)[:, 2] > 0).astype(np.int64)


@dataclass
class Rollout:
    """A batch of whole episodes, time-major: entry [t, i] is step t of episode i.

    ``running[t, i]`` is True where episode i was still going at step t; ``final`` holds each
    episode's last observation and ``truncated`` marks the ones the time limit cut.
    """
    observations: np.ndarray
    actions: np.ndarray
    running: np.ndarray
    final: np.ndarray
    truncated: np.ndarray

    @property
    def returns(self):
        """Each episode's undiscounted return (one point per step it lasted)."""
        return self.running.sum(0).astype(np.float64)


def play(policy, envs, states=None):
    """Play one episode in each of ``envs``'s slots with ``policy``, all slots stepped together."""
    observation = envs.reset(states)
    observations, actions, running = [], [], []
    while not envs.done.all():
        action = policy(observation)
        observations.append(observation)
        actions.append(action)
        running.append(~envs.done)
        observation, _, _, _ = envs.step(action)
    return Rollout(np.stack(observations), np.stack(actions), np.stack(running), observation, envs.truncated.copy())


def _advantages(rollout, critic, gamma, lam):
    """GAE(lambda) advantages and the critic's targets (both (T, n)), zero past each episode's end.

    Values are kept in units of (1 - gamma) times the return, so the critic's outputs stay near [0, 1].
    """
    steps, count = rollout.actions.shape
    scale = 1.0 - gamma
    with cr.no_grad():
        values = critic(_inputs(rollout.observations.reshape(-1, 4))).numpy().reshape(steps, count) / scale
        final_values = critic(_inputs(rollout.final)).numpy()[:, 0] / scale
    values = values * rollout.running
    advantages = np.zeros((steps, count))
    following = np.zeros(count)
    running_advantage = np.zeros(count)
    for t in range(steps - 1, -1, -1):
        last = rollout.running[t] & ~(rollout.running[t + 1] if t + 1 < steps else False)
        # The value after the last step: 0 if the pole fell, the critic's guess if the clock ran out.
        next_value = np.where(last, np.where(rollout.truncated, final_values, 0.0), following)
        delta = 1.0 + gamma * next_value - values[t]
        running_advantage = np.where(last, delta, delta + gamma * lam * running_advantage)
        advantages[t] = np.where(rollout.running[t], running_advantage, 0.0)
        following = values[t]
    return advantages, (advantages + values) * scale


@dataclass
class CartpoleRun:
    """A trained agent, every training episode's return, and why training stopped."""
    actor: nn.Module
    critic: nn.Module
    returns: list = field(default_factory=list)
    updates: int = 0
    stopped: str = ""
    seconds: float = 0.0


def train_agent(env="own", seed=0, batch=8, lr=3e-3, critic_lr=1e-2, gamma=0.99, lam=0.95, entropy=0.01,
                hidden=64, max_episodes=5000, max_seconds=600.0, patience=20, progress=None):
    """Train the actor-critic on CartPole-v1 until it balances (see the module docstring).

    Args:
        env: ``"own"`` (chainrule's CartPole) or ``"gymnasium"``.
        seed: seeds the networks, the start states and the sampled actions.
        batch: episodes played side by side per update.
        lr, critic_lr: Adam step sizes of the actor and the critic.
        gamma, lam: the discount and GAE's lambda.
        entropy: weight of the entropy bonus that keeps the policy exploring.
        hidden: hidden units of each network.
        max_episodes, max_seconds: give up after this many training episodes or seconds.
        patience: stop when this many training episodes in a row lasted 500 steps (and validation agrees).
        progress: a callable given a line of text every 10 updates, or None.
    """
    watch = Stopwatch()
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    actor, critic = build_actor(hidden), build_critic(hidden)
    actor_optimizer = cr.optim.Adam(actor.parameters(), lr=lr)
    critic_optimizer = cr.optim.Adam(critic.parameters(), lr=critic_lr)
    envs = make_cartpoles(env, batch, seed=seed)
    validation = make_cartpoles(env, 20, seed=VALIDATION_SEED + seed)
    run = CartpoleRun(actor, critic)
    while True:
        rollout = play(actor_policy(actor, greedy=False, rng=rng), envs)
        run.returns += rollout.returns.tolist()
        advantages, targets = _advantages(rollout, critic, gamma, lam)
        _update(actor, critic, actor_optimizer, critic_optimizer, rollout, advantages, targets, entropy)
        run.updates += 1
        if progress is not None and run.updates % 10 == 0:
            progress(f"update {run.updates}: {len(run.returns)} episodes, mean return of the last "
                     f"{batch} {np.mean(run.returns[-batch:]):.1f}")
        if len(run.returns) >= patience and min(run.returns[-patience:]) >= TIME_LIMIT:
            if play(actor_policy(actor), validation).returns.min() >= TIME_LIMIT:
                run.stopped = f"the last {patience} training episodes and 20 validation episodes lasted 500 steps"
                break
        if len(run.returns) >= max_episodes:
            run.stopped = f"reached --max-episodes {max_episodes}"
            break
        if watch.seconds >= max_seconds:
            run.stopped = f"reached --max-seconds {max_seconds:g}"
            break
    run.seconds = watch.seconds
    return run


def _update(actor, critic, actor_optimizer, critic_optimizer, rollout, advantages, targets, entropy):
    """One Adam step on the policy-gradient loss and one on the critic's squared error."""
    mask = rollout.running.reshape(-1)
    inputs = _inputs(rollout.observations.reshape(-1, 4)[mask])
    actions = rollout.actions.reshape(-1)[mask]
    advantage = advantages.reshape(-1)[mask]
    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)

    log_probabilities = F.log_softmax(actor(inputs), dim=1)
    chosen = cr.gather(log_probabilities, 1, actions[:, None].astype(np.int64))[:, 0]
    policy_entropy = -(log_probabilities.exp() * log_probabilities).sum(dim=1).mean()
    actor_loss = -(chosen * cr.tensor(advantage.astype(np.float32))).mean() - entropy * policy_entropy
    actor_optimizer.zero_grad()
    actor_loss.backward()
    actor_optimizer.step()

    critic_loss = F.mse_loss(critic(inputs)[:, 0], cr.tensor(targets.reshape(-1)[mask].astype(np.float32)))
    critic_optimizer.zero_grad()
    critic_loss.backward()
    critic_optimizer.step()


def evaluate(policy, env="own", episodes=100, seed=EVALUATION_SEED):
    """The return of each of ``episodes`` episodes played by ``policy``; the same ``seed``, the same starts."""
    return play(policy, make_cartpoles(env, episodes, seed=seed)).returns


def _summary(returns):
    return {"mean": float(np.mean(returns)), "min": float(np.min(returns)), "max": float(np.max(returns))}


def save_agent(run, path, hidden):
    """Write the actor and critic (and the hidden size to rebuild them) to ``path``."""
    cr.save({"actor": run.actor.state_dict(), "critic": run.critic.state_dict(), "hidden": hidden}, path)


def load_actor(path):
    """The actor saved by ``save_agent``, ready to play."""
    state = read_checkpoint("cartpole", path, ("actor", "critic", "hidden"))
    actor = build_actor(int(state["hidden"]))
    actor.load_state_dict(state["actor"])
    return actor


def add_arguments(parser):
    """``chainrule train cartpole`` options."""
    parser.add_argument("--env", choices=ENVIRONMENTS, default="own",
                        help="chainrule's own CartPole-v1 (default) or gymnasium.make('CartPole-v1')")
    parser.add_argument("--batch", type=int, default=8, help="episodes played side by side per update (default 8)")
    parser.add_argument("--lr", type=float, default=3e-3, help="the actor's Adam step size (default 3e-3)")
    parser.add_argument("--critic-lr", type=float, default=1e-2, help="the critic's Adam step size (default 1e-2)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units per network (default 64)")
    parser.add_argument("--max-episodes", type=int, default=5000, help="most training episodes (default 5000)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="most training seconds (default 600)")
    parser.add_argument("--eval-episodes", type=int, default=100, help="evaluation episodes (default 100)")


def train(out="runs/cartpole", data=None, seed=0, env="own", batch=8, lr=3e-3, critic_lr=1e-2, hidden=64,
          max_episodes=5000, max_seconds=600.0, eval_episodes=100, progress=print):
    """Train the actor-critic, evaluate it beside the baselines, and write the run folder ``out``.

    The folder gets metrics.json (training seconds and episodes, evaluation returns, baselines),
    learning_curve.png (every training episode's return) and checkpoint.npz.
    """
    if data is not None:
        raise ChainruleError(f"train cartpole: the agent learns from the simulator; expected no --data, got {data!r}.")
    for name, value in (("batch", batch), ("hidden", hidden), ("max-episodes", max_episodes),
                        ("eval-episodes", eval_episodes)):
        if not isinstance(value, int) or value < 1:
            raise ChainruleError(f"train cartpole: --{name} must be a positive integer; got {value!r}.")
    watch = Stopwatch()
    run = train_agent(env=env, seed=seed, batch=batch, lr=lr, critic_lr=critic_lr, hidden=hidden,
                      max_episodes=max_episodes, max_seconds=max_seconds, progress=progress)
    rng = np.random.default_rng(seed)
    starts = {"env": env, "episodes": eval_episodes, "seed": EVALUATION_SEED + seed}
    greedy = evaluate(actor_policy(run.actor), **starts)
    sampled = evaluate(actor_policy(run.actor, greedy=False, rng=rng), **starts)
    random = evaluate(random_policy(rng), **starts)
    lean = evaluate(lean_policy, **starts)

    folder = RunFolder(out)
    save_agent(run, folder.checkpoint, hidden)
    curve = folder.learning_curves({"episode return": run.returns}, name="learning_curve.png", xlabel="episode")
    evaluation = f"{eval_episodes} evaluation episodes"
    metrics_path = folder.write_metrics("cartpole", {
        "command": command_line("cartpole", seed=seed, env=env, batch=batch, lr=lr, critic_lr=critic_lr,
                                hidden=hidden, max_episodes=max_episodes, max_seconds=max_seconds,
                                eval_episodes=eval_episodes),
        "seed": seed, "seconds": watch.seconds, "env": env, "training_seconds": run.seconds,
        "training_episodes": len(run.returns), "updates": run.updates, "stopped": run.stopped,
        "evaluation": {"episodes": eval_episodes, "greedy": _summary(greedy), "sampled": _summary(sampled)},
        "baselines": {"random policy": _summary(random), "push toward the lean": _summary(lean)},
        "measures": [
            measure(f"mean return over {evaluation} (greedy policy)", greedy.mean(), target=SOLVED_RETURN,
                    baseline=random.mean(), baseline_name="random policy"),
            measure(f"min return over {evaluation} (greedy policy)", greedy.min(),
                    baseline=lean.min(), baseline_name="push toward the lean"),
            measure("training seconds", run.seconds, target=600, higher_is_better=False)]})
    lines = [f"CartPole-v1 ({env}): trained {len(run.returns)} episodes in {run.seconds:.1f} s ({run.stopped})",
             f"greedy policy over {evaluation}: mean return {greedy.mean():.1f}, min {greedy.min():.0f} "
             f"(solved at a mean of {SOLVED_RETURN:.0f}); sampled policy: mean {sampled.mean():.1f}",
             f"baselines on the same episodes: random policy mean {random.mean():.1f}, "
             f"push toward the lean mean {lean.mean():.1f}"]
    files = {"learning_curve": str(curve), "checkpoint": str(folder.checkpoint), "metrics": str(metrics_path)}
    return AppResult(metrics={"mean_return": float(greedy.mean()), "training_episodes": len(run.returns)},
                     lines=lines, files=files)


def add_predict_arguments(parser):
    """``chainrule predict cartpole [--episodes N]``."""
    parser.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    parser.add_argument("--env", choices=ENVIRONMENTS, default="own", help="chainrule's CartPole or gymnasium's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the start states (default 0)")
    parser.add_argument("--sampled", action="store_true", help="sample each push instead of taking the likelier")


def predict(run="runs/cartpole", episodes=10, env="own", seed=0, sampled=False):
    """Play ``episodes`` episodes with the saved policy; one line per episode, then the mean return."""
    if not isinstance(episodes, int) or episodes < 1:
        raise ChainruleError(f"predict cartpole: --episodes must be a positive integer; got {episodes!r}.")
    policy = actor_policy(load_actor(Path(run) / "checkpoint.npz"), greedy=not sampled,
                          rng=np.random.default_rng(seed))
    envs = make_cartpoles(env, episodes, seed=seed)
    rollout = play(policy, envs)
    lines = []
    for i, (steps, final, truncated) in enumerate(zip(rollout.returns, rollout.final, rollout.truncated)):
        if truncated:
            why = f"balanced until the {TIME_LIMIT}-step limit"
        elif abs(final[2]) > math.radians(12):
            why = f"the pole fell ({math.degrees(final[2]):+.1f} degrees)"
        else:
            why = f"the cart left the track (x = {final[0]:+.2f})"
        lines.append(f"episode {i + 1}: return {steps:.0f} ({why})")
    lines.append(f"mean return {rollout.returns.mean():.1f} over {episodes} episodes "
                 f"({'sampled' if sampled else 'greedy'} policy, {env} CartPole-v1)")
    return lines
