"""The failure counters behind sign-in throttling, on a clock the test moves."""

from __future__ import annotations

import threading

import pytest

from concord.auth.throttle import (
    FailureCounter,
    SignInThrottle,
    retry_after,
    source_of,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_limit_failures_pass_then_the_key_waits_one_interval(clock: Clock) -> None:
    counter = FailureCounter(limit=5, window=60, clock=clock)
    assert [counter.take("k") for _ in range(5)] == [0.0] * 5
    assert counter.wait("k") == pytest.approx(12.0)  # window / limit
    assert counter.take("k") == pytest.approx(12.0)  # refused: not charged
    assert counter.wait("other") == 0.0
    clock.now += 11.9
    assert counter.wait("k") > 0
    clock.now += 0.2
    assert counter.take("k") == 0.0  # one more, then it waits again
    assert counter.wait("k") == pytest.approx(11.9)


def test_refused_attempts_never_lengthen_the_wait(clock: Clock) -> None:
    counter = FailureCounter(limit=2, window=10, clock=clock)
    counter.take("k"), counter.take("k")
    for _ in range(1000):
        counter.take("k")
    assert counter.wait("k") == pytest.approx(5.0)
    clock.now += 10
    assert counter.wait("k") == 0.0


def test_a_refund_gives_an_attempt_back(clock: Clock) -> None:
    counter = FailureCounter(limit=2, window=10, clock=clock)
    counter.take("k"), counter.take("k")
    assert counter.wait("k") > 0
    counter.refund("k")
    assert counter.wait("k") == 0.0
    counter.refund("k")
    counter.refund("k")  # nothing left to give back
    assert [counter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert counter.wait("k") > 0


def test_concurrent_attempts_cannot_pass_the_limit() -> None:
    counter = FailureCounter(limit=10, window=3600)
    passed: list[str] = []
    barrier = threading.Barrier(16)

    def attempt() -> None:
        barrier.wait()
        for _ in range(10):
            if counter.take("k") == 0:
                passed.append("x")

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 10


def test_the_table_is_bounded(clock: Clock) -> None:
    counter = FailureCounter(limit=1, window=60, size=100, clock=clock)
    for n in range(1000):
        counter.take(f"user-{n}" + "x" * 10_000)
    assert len(counter) == 100
    assert counter.wait("user-999" + "x" * 10_000) > 0  # the most recent are kept
    assert counter.wait("user-0" + "x" * 10_000) == 0.0


def test_a_zero_limit_turns_the_counter_off(clock: Clock) -> None:
    counter = FailureCounter(limit=0, window=60, clock=clock)
    assert all(counter.take("k") == 0.0 for _ in range(100))
    assert counter.wait("k") == 0.0


def test_a_refusal_for_the_source_is_charged_to_the_user(clock: Clock) -> None:
    throttle = SignInThrottle(per_source=1, per_user=3, window=60, clock=clock)
    assert throttle.begin("1.2.3.4", "alice") == 0.0
    assert throttle.begin("1.2.3.4", "alice") > 0  # the source waits...
    assert throttle.begin("1.2.3.4", "alice") > 0
    assert throttle.user_wait("alice") > 0  # ...and alice's three attempts are spent
    assert throttle.begin("5.6.7.8", "bob") == 0.0


def test_a_refusal_for_the_user_gives_the_source_back(clock: Clock) -> None:
    throttle = SignInThrottle(per_source=2, per_user=1, window=60, clock=clock)
    assert throttle.begin("1.2.3.4", "alice") == 0.0
    assert throttle.begin("1.2.3.4", "alice") > 0  # alice waits
    assert throttle.begin("1.2.3.4", "bob") == 0.0  # the source still had one left


def test_success_gives_both_charges_back(clock: Clock) -> None:
    throttle = SignInThrottle(per_source=1, per_user=1, window=60, clock=clock)
    for _ in range(5):
        assert throttle.begin("1.2.3.4", "alice") == 0.0
        throttle.succeeded("1.2.3.4", "alice")


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("", "-"),
        (None, "-"),
        ("unix-socket", "unix-socket"),
    ],
)
def test_sources(address: str | None, key: str) -> None:
    assert source_of(address) == key


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after(w) for w in (0.01, 1.0, 1.2, 59.9)] == [1, 1, 2, 60]
