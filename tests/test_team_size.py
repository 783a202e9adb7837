"""fit's choice of thread count when the user has not fixed it (fastnn/team.py)."""
import numpy as np
import pytest

import fastnn
from fastnn import _C, layers, models, team


@pytest.fixture
def two_threads(monkeypatch):
    """Two kernel threads, not chosen by the user (as at a fresh import on 2 cores)."""
    old = _C.get_num_threads()
    _C.set_num_threads(2)
    monkeypatch.setattr(team, "_chosen_by_user", False)
    yield
    _C.set_num_threads(old)


class FakeMachine:
    """A clock that a step advances by its cost at the current thread count, and a load."""

    def __init__(self, cost, others=0):
        self.now, self.cost, self.others = 0.0, cost, others

    def clock(self):
        return self.now

    def load(self):
        return self.others

    def step(self, tuner, samples=128):
        self.now += self.cost[_C.get_num_threads()] * samples
        tuner.after_step(samples)


def run(machine, tuner, steps):
    sizes = []
    for _ in range(steps):
        machine.step(tuner)
        sizes.append(_C.get_num_threads())
    return sizes


def test_quiet_machine_keeps_every_thread(two_threads):
    m = FakeMachine({1: 2e-4, 2: 1e-4}, others=0)
    tuner = team.TeamSize(m.clock, m.load)
    assert run(m, tuner, 500) == [2] * 500  # no probe at all while nobody else runs


def test_busy_machine_moves_to_the_faster_size_and_back(two_threads):
    m = FakeMachine({1: 2e-4, 2: 3e-4}, others=1)  # another process holds a core
    tuner = team.TeamSize(m.clock, m.load)
    sizes = run(m, tuner, 300)
    assert sizes[-1] == 1 and sizes[-200:].count(1) > 190  # with a probe of 2 now and then
    m.others = 0  # it ended: every core is ours again
    m.cost = {1: 2e-4, 2: 1e-4}
    assert run(m, tuner, 300)[-250:] == [2] * 250
    tuner.close()
    assert _C.get_num_threads() == 2


def test_busy_machine_keeps_the_full_team_when_it_is_faster(two_threads):
    m = FakeMachine({1: 2e-4, 2: 1.2e-4}, others=1)
    tuner = team.TeamSize(m.clock, m.load)
    sizes = run(m, tuner, 3000)
    assert sizes[-1] == 2
    probes = sum(a == 2 and b == 1 for a, b in zip([2] + sizes, sizes))
    assert 1 <= probes <= 12  # probing backs off while the answer stays the same
    assert sizes.count(1) == probes * team.PROBE_STEPS


@pytest.mark.parametrize("one_thread_gain, expected", [(1.05, 2), (1.25, 1)])
def test_a_size_must_be_clearly_faster_to_replace_the_current(two_threads, one_thread_gain,
                                                            expected):
    m = FakeMachine({1: 2e-4 / one_thread_gain, 2: 2e-4}, others=1)
    tuner = team.TeamSize(m.clock, m.load)
    sizes = run(m, tuner, 400)
    assert sizes[-1] == expected and sizes[-100:].count(expected) > 90


def test_slower_steps_trigger_a_probe_without_a_load_signal(two_threads):
    m = FakeMachine({1: 2e-4, 2: 1e-4}, others=None)  # no /proc: only the step times
    tuner = team.TeamSize(m.clock, m.load)
    assert run(m, tuner, 100) == [2] * 100
    m.cost = {1: 2e-4, 2: 5e-4}  # something took a core (a CPU quota, a neighbour)
    sizes = run(m, tuner, 600)
    assert sizes[-1] == 1 and sizes[-400:].count(1) > 380


def test_the_users_thread_count_is_never_changed(two_threads):
    fastnn.set_num_threads(2)  # the user's choice
    assert not team.adaptive()
    m = FakeMachine({1: 2e-4, 2: 3e-4}, others=1)
    tuner = team.TeamSize(m.clock, m.load)
    assert run(m, tuner, 200) == [2] * 200


def test_set_num_threads_during_fit_wins(two_threads):
    m = FakeMachine({1: 2e-4, 2: 3e-4}, others=1)
    tuner = team.TeamSize(m.clock, m.load)
    run(m, tuner, 2)  # a probe has started at 1 thread
    fastnn.set_num_threads(2)  # a callback fixes it
    assert run(m, tuner, 200) == [2] * 200
    tuner.close()
    assert _C.get_num_threads() == 2


def test_others_running_reads_the_machine():
    seen = team.others_running()
    assert seen is None or (isinstance(seen, int) and seen >= 0)


def _trained_weights(load):
    rng = np.random.default_rng(3)
    x = rng.random((512, 12, 12, 1), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 512)]
    fastnn.utils.set_random_seed(5)
    net = models.Sequential([layers.Input((12, 12, 1)), layers.Conv2D(8, 3, activation="relu"),
                             layers.MaxPooling2D(), layers.Flatten(), layers.Dropout(0.3),
                             layers.Dense(4, activation="softmax")])
    net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    sizes = []
    real_set = team.TeamSize._set

    def spy(self, size):
        real_set(self, size)
        sizes.append(size)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(team, "others_running", lambda: load)
        mp.setattr(team, "FIRST_WAIT", 0.0)
        mp.setattr(team, "SAMPLE_EVERY", 0.0)
        mp.setattr(team.TeamSize, "_set", spy)
        net.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0)
    return net.get_weights(), sizes


def test_results_do_not_depend_on_the_team_size(two_threads):
    quiet, quiet_sizes = _trained_weights(0)
    busy, busy_sizes = _trained_weights(1)
    assert set(quiet_sizes) <= {2} and 1 in busy_sizes  # the busy fit did change team
    for a, b in zip(quiet, busy):
        np.testing.assert_array_equal(a, b)
