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
