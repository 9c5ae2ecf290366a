//! The rules of a reset: how long codes live, how often they may be resent, how many guesses a
//! code allows. Every rule takes `now` (Unix seconds) as an input.

/// Wrong guesses that kill a code (OWASP Forgot Password Cheat Sheet: limit attempts; with 10^6
/// codes, 5 guesses give an attacker a 5 in a million chance per code).
pub const MAX_ATTEMPTS: u32 = 5;
/// Failed verifications for one account in 24 hours that block its resets for an hour.
pub const ACCOUNT_FAILURES_PER_DAY: u32 = 10;
pub const ACCOUNT_BLOCK_SECS: u64 = 3600;
/// How long the grant to set a password lives after the code was verified.
pub const GRANT_TTL_SECS: u64 = 15 * 60;
/// The longest the resend cooldown grows to.
pub const MAX_COOLDOWN_SECS: u64 = 5 * 60;

/// A point in time plus a number of seconds, saturating (settings are `u64` seconds, stored
/// times are `i64` Unix seconds; one conversion, here).
pub fn after(now: i64, secs: u64) -> i64 {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// A setting's whole seconds as a span of Unix time, saturating.
pub fn seconds(secs: u64) -> i64 {
    after(0, secs)
}

/// Where a reset flow stands. Stored as text; decoded once at the store boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStep {
    /// A code was sent; waiting for it.
    Verify,
    /// The code was right: a short grant to choose the password.
    NewPassword,
    /// The password was reset.
    Done,
}

impl FlowStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::NewPassword => "new_password",
            Self::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Verify, Self::NewPassword, Self::Done]
            .into_iter()
            .find(|step| step.as_str() == s)
    }

    pub fn to_wire(self) -> app::wire::ResetStep {
        match self {
            Self::Verify => app::wire::ResetStep::Verify,
            Self::NewPassword => app::wire::ResetStep::NewPassword,
            Self::Done => app::wire::ResetStep::Done,
        }
    }
}

/// What a browser holding a flow's cookie may do with it at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The flow is there: show it, resend, verify or save as its step allows.
    Open(FlowStep),
    /// Its code and the grant window after it are over: the browser starts again.
    Gone,
    /// The code was verified but the 15-minute grant ran out. Never shown as done: the page
    /// offers a new code instead of claiming the password was reset.
    GrantExpired,
}

/// The times of a flow that decide its [`Standing`].
#[derive(Debug, Clone, Copy)]
pub struct FlowTimes {
    pub step: FlowStep,
    /// When the flow's current code expires.
    pub expires_at: i64,
    pub grant_expires_at: Option<i64>,
}

pub fn standing(f: FlowTimes, now: i64) -> Standing {
    if f.step != FlowStep::Done && after(f.expires_at, GRANT_TTL_SECS) < now {
        return Standing::Gone;
    }
    if f.step == FlowStep::NewPassword && !grant_live(f, now) {
        return Standing::GrantExpired;
    }
    Standing::Open(f.step)
}

/// Is the grant to set a password live? Only on the new-password step, strictly before its end.
pub fn grant_live(f: FlowTimes, now: i64) -> bool {
    f.step == FlowStep::NewPassword && f.grant_expires_at.is_some_and(|g| g > now)
}

/// What a Save acts on, given the flow this browser's cookie names (its id, and whether its
/// grant is live) and the flow of a live link cookie, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveTarget {
    /// The browser's verified flow; this browser is signed in afterwards.
    Grant { flow_id: i64 },
    /// The emailed link; signs in only when this browser also holds the link's own flow.
    Link { flow_id: i64, signs_in: bool },
    /// Nothing this browser may save through.
    Refused,
}

/// Save acts on exactly one flow, the one this browser is on. Starting a flow clears the link
/// cookie and opening a link clears another flow's cookie, so a live link of one reset beside a
/// flow cookie of another is never something this portal set: refuse it rather than guess (a
/// shared computer where someone else opened a link is exactly that case). A dead link is
/// `None` here, so it never blocks the code flow it sits beside.
pub fn save_target(browser_flow: Option<(i64, bool)>, link_flow: Option<i64>) -> SaveTarget {
    match (browser_flow, link_flow) {
        (Some((id, _)), Some(link)) if link != id => SaveTarget::Refused,
        (Some((id, true)), _) => SaveTarget::Grant { flow_id: id },
        (browser, Some(link)) => SaveTarget::Link {
            flow_id: link,
            signs_in: browser.is_some(),
        },
        (_, None) => SaveTarget::Refused,
    }
}

/// How a reset request is answered, given what the identifier found (the active user's sign-in
/// method, if any) and whether the portal hides which accounts exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A password user: issue a code.
    Issue,
    /// A provider's user, openly: "reset it with that provider" (the seed).
    SendToProvider,
    /// Nobody, openly: "the account does not exist" (the seed).
    NotFound,
    /// Hidden mode: answer as for anyone, with a decoy flow that nobody can complete.
    Decoy,
    /// Hidden mode and a provider's user: a decoy, and the owner of the address learns by
    /// email where to reset (OWASP Forgot Password Cheat Sheet: consistent responses).
    DecoyAndTellOwner,
}

pub fn answer(found: Option<app::wire::SignInMethod>, hide: bool) -> Answer {
    use app::wire::SignInMethod::Password;
    match (found, hide) {
        (Some(Password), _) => Answer::Issue,
        (Some(_), false) => Answer::SendToProvider,
        (Some(_), true) => Answer::DecoyAndTellOwner,
        (None, false) => Answer::NotFound,
        (None, true) => Answer::Decoy,
    }
}

/// The wait before the next send: the base cooldown, doubled on each further resend, capped at
/// five minutes.
pub fn cooldown_secs(base: u64, resends_so_far: u32) -> u64 {
    let factor = 1u64.checked_shl(resends_so_far.min(16)).unwrap_or(u64::MAX);
    base.saturating_mul(factor).min(MAX_COOLDOWN_SECS.max(base))
}

/// Seconds left until `deadline`, 0 when past.
pub fn secs_until(deadline: i64, now: i64) -> u64 {
    u64::try_from(deadline.saturating_sub(now)).unwrap_or(0)
}

/// The state of a stored code at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Live { attempts_left: u32 },
    Expired,
    Exhausted,
    Used,
}

pub fn code_state(
    expires_at: i64,
    attempts: u32,
    consumed: bool,
    revoked: bool,
    now: i64,
) -> CodeState {
    if consumed {
        CodeState::Used
    } else if revoked || now >= expires_at {
        CodeState::Expired
    } else if attempts >= MAX_ATTEMPTS {
        CodeState::Exhausted
    } else {
        CodeState::Live {
            attempts_left: MAX_ATTEMPTS - attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_stands_open_until_its_code_and_grant_window_are_over() {
        let f = FlowTimes {
            step: FlowStep::Verify,
            expires_at: 1000,
            grant_expires_at: None,
        };
        assert_eq!(standing(f, 1000), Standing::Open(FlowStep::Verify));
        assert_eq!(standing(f, 1900), Standing::Open(FlowStep::Verify));
        assert_eq!(standing(f, 1901), Standing::Gone);
        let done = FlowTimes {
            step: FlowStep::Done,
            ..f
        };
        assert_eq!(standing(done, 10_000_000), Standing::Open(FlowStep::Done));
    }

    #[test]
    fn an_expired_grant_is_never_done_nor_saveable() {
        // Every grant end and every moment around it: past its end the flow is GrantExpired,
        // never Open(Done), and the grant is not live.
        for grant_end in [0_i64, 1, 899, 900, 5_000] {
            for now in (grant_end - 3)..(grant_end + 3) {
                let f = FlowTimes {
                    step: FlowStep::NewPassword,
                    expires_at: now + 10,
                    grant_expires_at: Some(grant_end),
                };
                let s = standing(f, now);
                assert_ne!(s, Standing::Open(FlowStep::Done));
                assert_eq!(grant_live(f, now), now < grant_end, "{grant_end} {now}");
                assert_eq!(
                    s == Standing::GrantExpired,
                    now >= grant_end,
                    "{grant_end} {now}"
                );
            }
        }
        let no_grant = FlowTimes {
            step: FlowStep::NewPassword,
            expires_at: 100,
            grant_expires_at: None,
        };
        assert_eq!(standing(no_grant, 0), Standing::GrantExpired);
    }

    #[test]
    fn save_acts_on_exactly_one_flow() {
        use SaveTarget::*;
        // A verified flow in this browser, with or without its own link.
        assert_eq!(save_target(Some((1, true)), None), Grant { flow_id: 1 });
        assert_eq!(save_target(Some((1, true)), Some(1)), Grant { flow_id: 1 });
        // Someone else's live link beside this browser's flow: refused, whatever the step.
        assert_eq!(save_target(Some((1, true)), Some(2)), Refused);
        assert_eq!(save_target(Some((1, false)), Some(2)), Refused);
        // A link alone signs nobody in; with its own flow's cookie it signs this browser in.
        assert_eq!(
            save_target(None, Some(2)),
            Link {
                flow_id: 2,
                signs_in: false
            }
        );
        assert_eq!(
            save_target(Some((2, false)), Some(2)),
            Link {
                flow_id: 2,
                signs_in: true
            }
        );
        // Nothing live: nothing to save.
        assert_eq!(save_target(Some((1, false)), None), Refused);
        assert_eq!(save_target(None, None), Refused);
    }

    #[test]
    fn hidden_mode_answers_everyone_who_is_no_password_user_with_a_decoy() {
        use app::wire::SignInMethod::{Google, Password};
        assert_eq!(answer(Some(Password), false), Answer::Issue);
        assert_eq!(answer(Some(Password), true), Answer::Issue);
        assert_eq!(answer(Some(Google), false), Answer::SendToProvider);
        assert_eq!(answer(Some(Google), true), Answer::DecoyAndTellOwner);
        assert_eq!(answer(None, false), Answer::NotFound);
        assert_eq!(answer(None, true), Answer::Decoy);
    }

    #[test]
    fn steps_round_trip_through_their_stored_names() {
        for s in [FlowStep::Verify, FlowStep::NewPassword, FlowStep::Done] {
            assert_eq!(FlowStep::parse(s.as_str()), Some(s));
        }
        assert_eq!(FlowStep::parse("Verify"), None);
    }

    #[test]
    fn after_saturates() {
        assert_eq!(after(10, 5), 15);
        assert_eq!(after(i64::MAX - 1, 5), i64::MAX);
        assert_eq!(after(0, u64::MAX), i64::MAX);
    }

    #[test]
    fn the_cooldown_doubles_up_to_five_minutes() {
        let seq: Vec<u64> = (0..6).map(|n| cooldown_secs(60, n)).collect();
        assert_eq!(seq, vec![60, 120, 240, 300, 300, 300]);
        assert_eq!(cooldown_secs(1, 40), 300);
    }

    #[test]
    fn codes_die_at_expiry_exactly() {
        assert_eq!(
            code_state(100, 0, false, false, 99),
            CodeState::Live { attempts_left: 5 }
        );
        assert_eq!(code_state(100, 0, false, false, 100), CodeState::Expired);
    }

    #[test]
    fn five_wrong_guesses_exhaust_a_code() {
        assert_eq!(
            code_state(100, 4, false, false, 0),
            CodeState::Live { attempts_left: 1 }
        );
        assert_eq!(code_state(100, 5, false, false, 0), CodeState::Exhausted);
    }

    #[test]
    fn used_and_replaced_codes_are_dead() {
        assert_eq!(code_state(100, 0, true, false, 0), CodeState::Used);
        assert_eq!(code_state(100, 0, false, true, 0), CodeState::Expired);
    }
}
