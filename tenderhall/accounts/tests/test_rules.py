from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenderhall.accounts import rules

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
POLICY = rules.LockoutPolicy(threshold=5, minutes=15)


def test_four_failures_do_not_lock_and_the_fifth_locks_for_the_policy_minutes():
    # given
    state = rules.LoginState(failed_logins=0, locked_until=None)
    # when
    for _ in range(4):
        state = rules.after_failed_login(state, POLICY, now=NOW)
    # then
    assert state == rules.LoginState(failed_logins=4, locked_until=None)
    assert not rules.is_locked(state, now=NOW)
    state = rules.after_failed_login(state, POLICY, now=NOW)
    assert state.locked_until == NOW + timedelta(minutes=15)
    assert rules.is_locked(state, now=NOW + timedelta(minutes=14, seconds=59))
    assert not rules.is_locked(state, now=NOW + timedelta(minutes=15))


def test_a_failure_after_the_lock_expired_starts_counting_afresh():
    state = rules.LoginState(failed_logins=5, locked_until=NOW)
    assert rules.after_failed_login(state, POLICY, now=NOW) == rules.LoginState(
        failed_logins=1, locked_until=None
    )


def test_two_factor_is_required_for_the_roles_that_hold_secrets_or_public_power():
    assert rules.two_factor_required(["bidder", "agency"])
    for role in ("agency", "expert", "opening_official", "regulator", "operator"):
        assert rules.two_factor_required([role])
    assert not rules.two_factor_required(["bidder", "tenderee"])
    assert not rules.two_factor_required([])


def test_a_new_token_parses_back_to_its_prefix_and_a_secret_that_hashes_to_the_stored_hash():
    new = rules.token_new()
    parsed = rules.token_parse(new.token)
    assert parsed is not None
    assert parsed[0] == new.prefix
    assert rules.token_hash(parsed[1]) == new.secret_hash
    assert new.secret_hash not in new.token


def test_malformed_tokens_do_not_parse():
    for token in ("", "th_", "th_short_x", "xx_abcdefghij_" + "a" * 40, "th_ABCDEFGHIJ_" + "a" * 40):
        assert rules.token_parse(token) is None


def test_token_usability_depends_on_revocation_and_expiry():
    assert rules.token_usable(revoked_at=None, expires_at=None, now=NOW)
    assert not rules.token_usable(revoked_at=NOW, expires_at=None, now=NOW)
    assert not rules.token_usable(revoked_at=None, expires_at=NOW, now=NOW)
    assert rules.token_usable(revoked_at=None, expires_at=NOW + timedelta(seconds=1), now=NOW)


def test_phone_numbers_mainland_mobile_or_international():
    assert rules.phone_problem("13800000001") is None
    assert rules.phone_problem("138 0000 0001") is None
    assert rules.phone_problem("+442079460000") is None
    assert rules.phone_problem("12800000001") is not None
    assert rules.phone_problem("010-12345678") is not None
