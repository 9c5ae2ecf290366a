//! Preparing a new password, for every path that sets one: the account's policy, the
//! blocklist, the user's history, then the hash (on the bounded blocking pool).

use app::policy::{forbidden_words, Violation};
use app::wire::PolicyResponse;

use super::{Error, Outcome, Refusal};
use crate::crypto::Hasher;
use crate::domain::password::{is_common_password, NewPassword};
use crate::store::users::{self, User};
use crate::store::{Conn, Store};

/// The account's rules and the words this user may not use.
pub async fn policy_for(conn: &mut Conn, user: &User) -> Result<PolicyResponse, sqlx::Error> {
    let (_, policy) = users::account_policy(conn, user.account_id).await?;
    Ok(PolicyResponse {
        policy,
        forbidden_words: forbidden_words(&user.name, &user.email),
    })
}

/// Checks a new password against the account's policy, the blocklist and the user's history,
/// then hashes it. Refusals name the failed rules.
///
/// No database connection is held while hashing: a burst of saves queues on the hasher without
/// starving everything else of connections.
pub async fn prepare(
    store: &Store,
    hasher: &Hasher,
    user: &User,
    new: &str,
    confirm: &str,
) -> Outcome<String> {
    // Refuse absurd input before any work: the policy caps at 128 code points, 4 bytes each.
    if new.len() > 1024 || confirm.len() > 1024 {
        let max = app::policy::ABSOLUTE_MAX_LENGTH;
        return Err(Refusal::Password(vec![Violation::TooLong { max }]).into());
    }
    let (pr, recent) = {
        let mut conn = store.conn().await?;
        let pr = policy_for(&mut conn, user).await?;
        let depth = pr.policy.history_depth;
        let recent = if depth > 0 {
            users::recent_hashes(&mut conn, user.id, depth).await?
        } else {
            Vec::new()
        };
        (pr, recent)
    };
    let pw = NewPassword::parse(
        &pr.policy,
        new,
        confirm,
        &pr.forbidden_words,
        is_common_password,
    )
    .map_err(Refusal::Password)?;
    // NIST SP 800-63B-4 3.1.1.2 allows refusing a recently used password; the account decides.
    if !recent.is_empty() {
        let recent = recent.into_iter().map(Some).collect();
        if hasher
            .verify_any(pw.secret(), recent)
            .await
            .map_err(Error::Internal)?
        {
            let depth = pr.policy.history_depth;
            return Err(Refusal::Password(vec![Violation::Reused { depth }]).into());
        }
    }
    hasher.hash(&pw).await.map_err(Error::Internal)
}
