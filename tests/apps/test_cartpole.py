"""CartPole: chainrule's own CartPole-v1 against gymnasium's, the actor-critic's advantages, learning,
the app end to end (train, metrics, predict, command line) and its errors."""

import json

import gymnasium
import numpy as np
import pytest

import chainrule as cr
from chainrule.apps import cartpole
from chainrule.apps._cartpole_env import TIME_LIMIT, CartPoles, GymnasiumCartPoles, make_cartpoles
from chainrule.cli import main


def _balancing_rule(observation):
    """Push toward where the pole is heading: keeps the pole up for the whole 500 steps."""
    return int(observation[2] + 0.5 * observation[3] + 0.01 * observation[1] > 0)


@pytest.mark.parametrize("seed", range(6))
def test_own_cartpole_follows_gymnasiums_states_terminations_and_truncation(seed):
    reference = gymnasium.make("CartPole-v1")
    observation, _ = reference.reset(seed=seed)
    carts = CartPoles(1)
    own = carts.reset(reference.unwrapped.state[None])  # gymnasium's own reset gives the start state
    np.testing.assert_array_equal(own[0], observation)
    rng = np.random.default_rng(seed)
    balancing = seed % 2 == 0  # even seeds balance to the time limit, odd ones push at random and fall
    for step in range(1, TIME_LIMIT + 1):
        action = _balancing_rule(observation) if balancing else int(rng.integers(2))
        observation, reward, terminated, truncated, _ = reference.step(action)
        own, own_reward, own_terminated, own_truncated = carts.step(np.array([action]))
        np.testing.assert_allclose(own[0], observation, rtol=1e-6, atol=1e-7, err_msg=f"step {step}")
        assert (own_reward[0], own_terminated[0], own_truncated[0]) == (reward, terminated, truncated), step
        if terminated or truncated:
            break
    assert carts.steps[0] == step
    assert (step == TIME_LIMIT and truncated and not terminated) if balancing else (step < TIME_LIMIT and terminated)
    frozen = carts.state.copy()
    assert carts.step(np.array([1]))[1][0] == 0.0 and np.array_equal(carts.state, frozen)  # finished stays finished


def test_a_batch_of_carts_steps_each_cart_as_gymnasium_would():
    references = [gymnasium.make("CartPole-v1") for _ in range(4)]
    observations = np.stack([env.reset(seed=10 + i)[0] for i, env in enumerate(references)])
    carts = CartPoles(4)
    carts.reset(np.stack([env.unwrapped.state for env in references]))
    rng = np.random.default_rng(0)
    ended = np.zeros(4, dtype=bool)
    while not ended.all():
        actions = np.where(rng.random(4) < 0.8, [_balancing_rule(o) for o in observations], rng.integers(0, 2, 4))
        own, _, own_terminated, own_truncated = carts.step(actions)
        for i in np.flatnonzero(~ended):
            observations[i], _, terminated, truncated, _ = references[i].step(int(actions[i]))
            np.testing.assert_allclose(own[i], observations[i], rtol=1e-6, atol=1e-7)
            assert (own_terminated[i], own_truncated[i]) == (terminated, truncated)
            ended[i] = terminated or truncated
    assert np.array_equal(ended, carts.done)


def test_the_gymnasium_adapter_plays_the_same_episodes_as_own_carts_from_the_same_starts():
    adapter = GymnasiumCartPoles(5, seed=3)
    gym_rollout = cartpole.play(cartpole.lean_policy, adapter)
    starts = []
    for i in range(5):
        env = gymnasium.make("CartPole-v1")
        env.reset(seed=3 + i)
        starts.append(env.unwrapped.state)
    own_rollout = cartpole.play(cartpole.lean_policy, CartPoles(5), states=np.stack(starts))
    np.testing.assert_array_equal(gym_rollout.returns, own_rollout.returns)
    assert np.all(gym_rollout.returns > 0)


def test_carts_refuse_bad_actions_and_start_states():
    carts = CartPoles(2, seed=0)
    carts.reset()
    with pytest.raises(cr.ChainruleError, match=r"CartPoles.step: expected one action 0 or 1 per cart"):
        carts.step(np.array([0, 2]))
    with pytest.raises(cr.ShapeError, match=r"expected shape \(2, 4\).*got \(3, 4\)"):
        carts.reset(np.zeros((3, 4)))
    with pytest.raises(cr.ChainruleError, match="unknown environment 'atari'"):
        make_cartpoles("atari", 2)


def test_advantages_bootstrap_truncated_episodes_and_stop_at_a_fall():
    gamma, value = 0.9, 2.0  # the critic says every state is worth 2 (it outputs 2 * (1 - gamma))
    critic = cartpole.build_critic(hidden=4)
    critic.load_state_dict({name: np.zeros_like(p.data) for name, p in critic.named_parameters()}, strict=True)
    critic[2].bias.data[:] = value * (1 - gamma)
    running = np.array([[True, True], [True, True], [True, False]])  # episode 0 lasts 3 steps, episode 1 two
    rollout = cartpole.Rollout(np.zeros((3, 2, 4), np.float32), np.zeros((3, 2), np.int64), running,
                               np.zeros((2, 4), np.float32), truncated=np.array([True, False]))
    advantages, targets = cartpole._advantages(rollout, critic, gamma, lam=1.0)
    for t in range(3):  # truncated: the remaining rewards, then the critic's value of the last state
        expected = sum(gamma ** k for k in range(3 - t)) + gamma ** (3 - t) * value - value
        assert advantages[t, 0] == pytest.approx(expected)
    for t in range(2):  # fell: the remaining rewards only
        assert advantages[t, 1] == pytest.approx(sum(gamma ** k for k in range(2 - t)) - value)
    assert advantages[2, 1] == 0.0
    np.testing.assert_allclose(targets, (advantages + value * running) * (1 - gamma), rtol=1e-6)


def test_a_few_hundred_episodes_of_training_lengthen_the_episodes():
    run = cartpole.train_agent(seed=0, max_episodes=320)
    assert len(run.returns) == 320 and run.stopped.startswith("reached --max-episodes")
    assert np.mean(run.returns[-40:]) > 2 * np.mean(run.returns[:40])


def test_train_writes_the_run_folder_and_predict_plays_the_saved_policy(tmp_path):
    out = tmp_path / "cartpole"
    result = cartpole.train(out=out, seed=1, max_episodes=16, eval_episodes=6, progress=None)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["app"] == "cartpole" and metrics["training_episodes"] == 16 == result.metrics["training_episodes"]
    assert metrics["command"].startswith("chainrule train cartpole --seed 1 --env own")
    names = [row["name"] for row in metrics["measures"]]
    assert names[0] == "mean return over 6 evaluation episodes (greedy policy)"
    assert metrics["measures"][0]["value"] == metrics["evaluation"]["greedy"]["mean"]
    assert metrics["measures"][0]["baseline"]["value"] == metrics["baselines"]["random policy"]["mean"] > 0
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert cartpole.load_actor(out / "checkpoint.npz")(cr.tensor(np.zeros((1, 4), np.float32))).shape == (1, 2)

    lines = cartpole.predict(run=out, episodes=3, seed=5)
    assert len(lines) == 4 and all(line.startswith(f"episode {i + 1}: return ") for i, line in enumerate(lines[:3]))
    returns = [float(line.split("return ")[1].split()[0]) for line in lines[:3]]
    assert lines[-1].startswith(f"mean return {np.mean(returns):.1f} over 3 episodes (greedy policy")
    assert cartpole.predict(run=out, episodes=3, seed=5) == lines  # the same seed plays the same episodes


def test_the_command_line_trains_with_gymnasium_and_predicts(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "cartpole", "--env", "gymnasium", "--out", out, "--max-episodes", "8", "--batch", "4",
                 "--eval-episodes", "3"]) == 0
    printed = capsys.readouterr().out
    assert "CartPole-v1 (gymnasium): trained 8 episodes" in printed and "random policy mean" in printed
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["env"] == "gymnasium"
    assert main(["predict", "cartpole", "--run", out, "--episodes", "2", "--env", "gymnasium"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("over 2 episodes (greedy policy, gymnasium CartPole-v1)")


def test_errors_name_the_app_and_what_was_expected(tmp_path, capsys):
    with pytest.raises(cr.ChainruleError, match="expected no --data"):
        cartpole.train(out=tmp_path, data="somewhere.csv")
    with pytest.raises(cr.ChainruleError, match="--batch must be a positive integer; got 0"):
        cartpole.train(out=tmp_path, batch=0)
    with pytest.raises(cr.ChainruleError, match="no trained model at"):
        cartpole.predict(run=tmp_path / "missing")
    cr.save({"weights": np.zeros(3)}, tmp_path / "checkpoint.npz")
    with pytest.raises(cr.ChainruleError, match="is not a cartpole checkpoint"):
        cartpole.predict(run=tmp_path)
    assert main(["predict", "cartpole", "--run", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err.startswith("chainrule: error: cartpole: no trained model")
