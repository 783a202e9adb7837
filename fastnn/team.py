"""How many threads the kernels use during `fit`, when the user has not said.

On a quiet machine every core is fastnn's.  When other programs keep cores busy, a team
of as many threads as cores runs slower than a smaller one: the kernels hand out work in
chunks, but a thread the OS deschedules still holds up the end of each parallel region.
So while training, `TeamSize` watches the machine between steps and, when other programs
are running (Linux's count of runnable threads, /proc/loadavg) or the steps got slower,
tries the other team sizes for a few steps each and keeps the fastest.  Results do not
depend on it: every kernel gives bitwise the same result at any thread count.

A thread count the user chose (FASTNN_NUM_THREADS, OMP_NUM_THREADS, set_num_threads, or
fastnn.distributed's per-rank share) is never changed.
"""
import os
import time

from fastnn import _C, config

_chosen_by_user = config.NUM_THREADS is not None or config.OMP_NUM_THREADS_SET

PROBE_STEPS = 4          # steps timed at each size when probing
FIRST_WAIT = 1.0         # seconds between probes while nothing changes: doubles up to
LONGEST_WAIT = 30.0      # this, back to FIRST_WAIT after a change of size
PROBE_SHARE = 0.05       # and at least this long that probes take at most this share
SLOWER = 1.3             # steps this much slower than when last chosen: probe again
SWITCH_GAIN = 1.1        # another size must be this much faster to replace the current
SAMPLE_EVERY = 0.2       # seconds between reads of the machine's load


def choose_thread_count(n):
    """Record that the user fixed the thread count (then fit never changes it)."""
    global _chosen_by_user
    _C.set_num_threads(n)  # a bad count raises first and changes nothing
    _chosen_by_user = True


def adaptive():
    """Whether fit may change the thread count (the user did not fix it)."""
    return not _chosen_by_user and _C.get_num_threads() > 1 and not _C.is_single_threaded_child()


def others_running():
    """Runnable threads of other processes now (Linux), or None where unknown."""
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None
    if running <= 1:
        return 0
    mine = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                mine += f.read().rsplit(b")", 1)[1].split()[0] == b"R"
    except (OSError, IndexError):
        mine = 1
    return max(0, running - max(mine, 1))


class TeamSize:
    """Picks the team size step by step during one fit (see the module's docstring).
    `after_step(samples)` is called once per training step; `close()` restores the
    thread count fit started with."""

    def __init__(self, clock=time.perf_counter, load=None):
        self.full = _C.get_num_threads()
        self.clock, self.load = clock, load or others_running
        self.size = self.full
        self.last = self.clock()
        self.next_sample = self.last
        self.next_probe = self.last
        self.wait = FIRST_WAIT
        self.busy = None       # smoothed count of other runnable threads (None: unknown)
        self.chosen_time = None  # per-sample step time when the size was last chosen
        self.recent = []
        self.plan, self.trial = [], {}  # sizes still to time, {size: [per-sample times]}
        self.probe_start = self.last

    def candidates(self):
        free = max(1, self.full - round(self.busy or 0))
        return sorted({self.full, free, 1}, reverse=True)

    def _set(self, size):
        if size != _C.get_num_threads():
            _C.set_num_threads(size)
        self.size = size

    def begin_epoch(self):
        """Between epochs (validation, callbacks): not a step's time."""
        self.last = self.clock()

    def after_step(self, samples):
        now = self.clock()
        per_sample = (now - self.last) / max(samples, 1)
        self.last = now
        if _chosen_by_user:  # set_num_threads in a callback: the user's count from now on
            self.plan = []
            return
        if self.plan:  # probing: time this size, then the next
            times = self.trial.setdefault(self.size, [])
            times.append(per_sample)
            if len(times) >= PROBE_STEPS:
                self.plan.pop(0)
                if self.plan:
                    self._set(self.plan[0])
                else:
                    self._decide(now)
            return
        self.recent = (self.recent + [per_sample])[-PROBE_STEPS:]
        if self.chosen_time is None and len(self.recent) == PROBE_STEPS:
            self.chosen_time = _median(self.recent)  # how fast steps are at the start
        if now >= self.next_sample:
            self.next_sample = now + SAMPLE_EVERY
            seen = self.load()
            if seen is not None:
                self.busy = seen if self.busy is None else self.busy + 0.5 * (seen - self.busy)
                if self.busy < 0.5 and self.size != self.full:  # quiet again: every core
                    self._set(self.full)
                    self.chosen_time, self.wait = None, FIRST_WAIT
        if now < self.next_probe:
            return
        slower = (self.chosen_time is not None and len(self.recent) == PROBE_STEPS
                  and min(self.recent) > SLOWER * self.chosen_time)
        busy = self.busy >= 0.5 if self.busy is not None else self.size != self.full
        if busy or slower:
            # the current size is timed again last, under the same load as the others
            self.plan = [s for s in self.candidates() if s != self.size] + [self.size]
            self.trial, self.probe_start = {}, now
            self._set(self.plan[0])
        self.next_probe = now + self.wait

    def _decide(self, now):
        """After a probe (which ends on the size it started from): keep the fastest, if
        it is clearly faster than the current size.  Under load two sizes are often
        within the probe's noise of each other, and a switch on noise costs: fewer
        threads also get a smaller share of the CPU from the OS, which divides it per
        thread."""
        best = min(self.trial, key=lambda s: (_median(self.trial[s]), -s))
        if SWITCH_GAIN * _median(self.trial[best]) > _median(self.trial[self.size]):
            best = self.size
        changed = best != self.size
        self._set(best)
        self.chosen_time = _median(self.trial[best])
        self.wait = FIRST_WAIT if changed else min(2 * self.wait, LONGEST_WAIT)
        self.recent, self.trial = [], {}
        # a probe runs some steps at a slower size: keep probing a small share of the time
        self.next_probe = now + max(self.wait, (now - self.probe_start) / PROBE_SHARE)

    def close(self):
        if not _chosen_by_user:
            self._set(self.full)


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]
