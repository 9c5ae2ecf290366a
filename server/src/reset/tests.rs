//! The use cases without HTTP: a fast layer between the domain's unit tests and the API suite.
//! Each test runs the real use cases against a fresh SQLite database and reads codes and links
//! from the outbox the way the worker does (claimed and opened with the portal's keys).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use app::wire::{ResetStep, SignInMethod};
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use tokio::sync::Notify;

use super::complete::{complete, CompleteRequest};
use super::start::{start, StartRequest};
use super::verify::{verify, VerifyRequest};
use super::{Error, Refusal};
use crate::clock::ManualClock;
use crate::config::RawConfig;
use crate::crypto::{Hasher, Keys};
use crate::domain::client::Client;
use crate::domain::identifier::Identifier;
use crate::domain::reset::GRANT_TTL_SECS;
use crate::metrics::Metrics;
use crate::notify::templates::Lang;
use crate::state::AppState;
use crate::store::batch::Batch;
use crate::store::outbox;
use crate::store::users::{self, NewUser};
use crate::store::Store;

const T0: i64 = 1_800_000_000;
const PASSWORD: &str = "Original-Passphrase-2024";
const NEW_PASSWORD: &str = "Brand-New-Passphrase-2025";

struct Portal {
    st: AppState,
    account: i64,
}

async fn portal(tweak: impl FnOnce(&mut RawConfig)) -> Portal {
    let dir = std::env::temp_dir().join(format!("portal-usecase-{:x}", rand::random::<u64>()));
    let mut raw = RawConfig::default();
    raw.set(
        "database_url",
        format!("sqlite://{}/portal.db?mode=rwc", dir.display()),
    )
    .set("data_dir", dir.display().to_string())
    .set("public_url", "http://portal.test")
    .set("mail_from", "no-reply@portal.test");
    tweak(&mut raw);
    let config = raw.parse().unwrap();
    let store = Store::open(&config.database_url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    let account = users::insert_account(&mut c, "Test AB", T0).await.unwrap();
    drop(c);
    let st = AppState {
        config: Arc::new(config),
        store,
        clock: Arc::new(ManualClock::new(T0)),
        keys: Keys::new(&SecretString::from("use-case-secret-0123456789abcdef0123")),
        hasher: Hasher::new(1).unwrap(),
        outbox_wake: Arc::new(Notify::new()),
        metrics: Metrics::new(),
        templates: Arc::new(crate::notify::templates::Templates::built_in()),
        tasks: tokio_util::task::TaskTracker::new(),
    };
    Portal { st, account }
}

impl Portal {
    async fn add_user(&self, email: &str, phone: Option<&str>, method: SignInMethod) -> i64 {
        let policy = app::policy::PolicyConfig::modern();
        let pw =
            crate::domain::password::NewPassword::parse(&policy, PASSWORD, PASSWORD, &[], |_| {
                false
            })
            .unwrap();
        let hash = match method {
            SignInMethod::Password => Some(self.st.hasher.hash(&pw).await.unwrap()),
            _ => None,
        };
        let mut c = self.st.store.conn().await.unwrap();
        let user = NewUser {
            account_id: self.account,
            name: "Maja Test",
            email,
            phone,
            role: "member",
            custom_role_id: None,
            sign_in_method: method,
            password_hash: hash.as_deref(),
            time_zone: "Europe/Stockholm",
        };
        users::insert(&mut c, &user, T0).await.unwrap()
    }

    fn ident(&self, text: &str) -> Identifier {
        Identifier::parse(text, self.st.config.default_region.id).unwrap()
    }

    async fn start(&self, text: &str, now: i64) -> Result<super::start::Started, Error> {
        let req = StartRequest {
            identifier: self.ident(text),
            lang: Lang::En,
            client: &client(),
        };
        start(&self.st, &req, now).await
    }

    /// Every queued message, claimed and opened as the worker does: (recipient, text).
    async fn take_messages(&self, now: i64) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for m in outbox::claim(&self.st.store, &self.st.keys, now, 30, 1000)
            .await
            .unwrap()
        {
            let mut b = Batch::new();
            outbox::mark_sent_in(&mut b, &[m.id], now);
            self.st.store.apply(b, |_| true).await.unwrap();
            let text = m.content.map(|c| c.body_text).unwrap_or_default();
            out.push((m.recipient, text));
        }
        out
    }

    async fn live_codes(&self, user_id: i64, now: i64) -> i64 {
        let mut c = self.st.store.conn().await.unwrap();
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM reset_codes WHERE user_id = $1 AND consumed_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(&mut *c)
        .await
        .unwrap()
    }
}

fn client() -> Client {
    Client {
        ip: "192.0.2.7".into(),
        rate_key: "192.0.2.7".into(),
        user_agent: "use-case test".into(),
    }
}

/// The 6-digit code in a message's text.
fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    digits
        .windows(6)
        .enumerate()
        .find(|(i, w)| {
            w.iter().all(char::is_ascii_digit)
                && digits.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
                && (*i == 0 || !digits[i - 1].is_ascii_digit())
        })
        .map(|(_, w)| w.iter().collect())
        .unwrap()
}

/// The link token in a message's text.
fn link_in(text: &str) -> String {
    let at = text.find("/reset#token=").unwrap() + "/reset#token=".len();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A Save of [`NEW_PASSWORD`] through this browser's flow and link cookies.
fn save<'a>(
    flow_token: Option<&'a str>,
    link_token: Option<&'a str>,
    client: &'a Client,
) -> CompleteRequest<'a> {
    CompleteRequest {
        flow_token,
        link_token,
        new_password: NEW_PASSWORD,
        confirm_password: NEW_PASSWORD,
        client,
        lang: Lang::En,
    }
}

fn refusal(r: Result<impl Sized, Error>) -> Refusal {
    match r {
        Err(Error::Refused(r)) => r,
        Err(e) => panic!("expected a refusal, got {e:?}"),
        Ok(_) => panic!("expected a refusal, got success"),
    }
}

#[tokio::test]
async fn a_code_verifies_once_and_save_signs_in_the_browser_that_started_and_nobody_twice() {
    let p = portal(|_| {}).await;
    p.add_user("maja@example.com", None, SignInMethod::Password)
        .await;
    let started = p.start("Maja@Example.com", T0).await.unwrap();
    assert_eq!(started.flow.step, ResetStep::Verify);
    assert_eq!(started.flow.attempts_left, 5);
    let mail = p.take_messages(T0).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(
        mail[0].0, "maja@example.com",
        "the address on file, not as typed"
    );
    let code = code_in(&mail[0].1);
    let c = client();
    let token = Some(started.token.as_str());
    let verify_req = VerifyRequest {
        flow_token: token,
        code: &code,
        client: &c,
    };
    let view = verify(&p.st, &verify_req, T0 + 5).await.unwrap();
    assert_eq!(view.step, ResetStep::NewPassword);
    assert!(view.policy.is_some());
    assert_eq!(
        refusal(verify(&p.st, &verify_req, T0 + 6).await),
        Refusal::AlreadyVerified
    );
    let save = save(token, None, &c);
    let done = complete(&p.st, &save, T0 + 10).await.unwrap();
    assert!(done.session_token.is_some());
    assert_eq!(
        refusal(complete(&p.st, &save, T0 + 11).await),
        Refusal::GrantExpired
    );
    let confirmation = p.take_messages(T0 + 11).await;
    assert_eq!(confirmation.len(), 1, "one confirmation email");
}

#[tokio::test]
async fn no_sequence_of_starts_resends_and_wrong_guesses_leaves_two_live_codes() {
    let p = portal(|raw| {
        raw.set("codes_per_hour", "1000");
        raw.set("codes_per_day", "1000");
        raw.set("ip_requests_per_hour", "1000");
        raw.set("ip_verifications_per_hour", "1000");
    })
    .await;
    let user = p
        .add_user("mats@example.com", None, SignInMethod::Password)
        .await;
    let c = client();
    for seed in 0..4_u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut now = T0 + i64::try_from(seed).unwrap() * 1_000_000;
        let mut tokens: Vec<String> = Vec::new();
        for _ in 0..30 {
            now += rng.gen_range(0..400);
            match (rng.gen_range(0..3), tokens.is_empty()) {
                (0, _) | (_, true) => {
                    tokens.push(p.start("mats@example.com", now).await.unwrap().token);
                }
                (1, false) => {
                    let t = &tokens[rng.gen_range(0..tokens.len())];
                    // A refusal (too soon, no flow) is an allowed answer; a second live code is not.
                    let _ = super::resend::resend(&p.st, Some(t), &c, now).await;
                }
                _ => {
                    let t = &tokens[rng.gen_range(0..tokens.len())];
                    let req = VerifyRequest {
                        flow_token: Some(t),
                        code: "000000",
                        client: &c,
                    };
                    let _ = verify(&p.st, &req, now).await;
                }
            }
            let live = p.live_codes(user, now).await;
            assert!(live <= 1, "seed {seed}: {live} live codes");
        }
    }
}

#[tokio::test]
async fn a_verified_code_whose_grant_ran_out_is_expired_never_done() {
    let p = portal(|_| {}).await;
    p.add_user("greta@example.com", None, SignInMethod::Password)
        .await;
    let started = p.start("greta@example.com", T0).await.unwrap();
    let code = code_in(&p.take_messages(T0).await[0].1);
    let c = client();
    let token = Some(started.token.as_str());
    let req = VerifyRequest {
        flow_token: token,
        code: &code,
        client: &c,
    };
    verify(&p.st, &req, T0).await.unwrap();
    let grant = i64::try_from(GRANT_TTL_SECS).unwrap();
    let shown = super::flow::show(&p.st, token, T0 + grant - 1)
        .await
        .unwrap();
    assert_eq!(shown.step, ResetStep::NewPassword);
    assert_eq!(
        refusal(super::flow::show(&p.st, token, T0 + grant).await),
        Refusal::GrantExpired
    );
    let save = save(token, None, &c);
    assert_eq!(
        refusal(complete(&p.st, &save, T0 + grant + 1).await),
        Refusal::GrantExpired
    );
}

#[tokio::test]
async fn hidden_mode_answers_an_unknown_address_like_a_known_one_and_delivers_nothing() {
    let p = portal(|raw| {
        raw.set("hide_account_existence", "true");
    })
    .await;
    p.add_user("known@example.com", None, SignInMethod::Password)
        .await;
    let known = p.start("known@example.com", T0).await.unwrap();
    let unknown = p.start("nobody@example.com", T0).await.unwrap();
    assert_eq!(known.flow.step, unknown.flow.step);
    assert_eq!(known.flow.attempts_left, unknown.flow.attempts_left);
    assert_eq!(
        known.flow.code_expires_in_secs,
        unknown.flow.code_expires_in_secs
    );
    assert_eq!(known.flow.resend_after_secs, unknown.flow.resend_after_secs);
    assert_eq!(known.token.len(), unknown.token.len());
    let queued = p.take_messages(T0).await;
    assert_eq!(queued.len(), 2, "a decoy queues a message like a real flow");
    let recipients: Vec<&str> = queued.iter().map(|m| m.0.as_str()).collect();
    assert!(recipients.contains(&"known@example.com"));
    assert!(
        recipients.contains(&""),
        "the decoy's message has no recipient"
    );
}

#[tokio::test]
async fn in_hidden_mode_a_provider_accounts_notice_is_work_a_shutdown_waits_for() {
    let p = portal(|raw| {
        raw.set("hide_account_existence", "true");
    })
    .await;
    p.add_user("sso@example.com", None, SignInMethod::Google)
        .await;
    p.start("sso@example.com", T0).await.unwrap();
    // The notice is sent after the answer: it must be tracked, or a shutdown right after the
    // answer would drop the email the owner was promised.
    assert_eq!(p.st.tasks.len(), 1, "the notice runs as tracked work");
    p.st.tasks.close();
    p.st.tasks.wait().await;
    let queued = p.take_messages(T0).await;
    let to_owner: Vec<&(String, String)> =
        queued.iter().filter(|m| m.0 == "sso@example.com").collect();
    assert_eq!(to_owner.len(), 1, "the owner is told where to reset");
    assert!(to_owner[0].1.contains("Google"));
}

#[tokio::test]
async fn outside_hidden_mode_unknown_and_provider_accounts_are_told_so() {
    let p = portal(|_| {}).await;
    p.add_user("sso@example.com", None, SignInMethod::Google)
        .await;
    assert_eq!(
        refusal(p.start("nobody@example.com", T0).await),
        Refusal::AccountNotFound
    );
    assert_eq!(
        refusal(p.start("sso@example.com", T0).await),
        Refusal::ManagedByProvider(SignInMethod::Google)
    );
    assert!(p.take_messages(T0).await.is_empty());
}

#[tokio::test]
async fn an_admins_reset_sends_a_link_that_signs_nobody_in_and_kills_the_users_code() {
    let p = portal(|_| {}).await;
    let uid = p
        .add_user("maja@example.com", None, SignInMethod::Password)
        .await;
    let admin_id = p
        .add_user("admin@example.com", None, SignInMethod::Password)
        .await;
    let started = p.start("maja@example.com", T0).await.unwrap();
    p.take_messages(T0).await;
    let mut c = p.st.store.conn().await.unwrap();
    let target = users::by_id(&mut c, uid).await.unwrap().unwrap();
    let admin = users::by_id(&mut c, admin_id).await.unwrap().unwrap();
    drop(c);
    let by_admin = super::admin::ByAdmin {
        actor: &admin,
        target: &target,
        client: &client(),
    };
    super::admin::send_reset(&p.st, &by_admin, T0 + 1)
        .await
        .unwrap();
    let mail = p.take_messages(T0 + 1).await;
    assert_eq!(mail.len(), 1);
    let link = link_in(&mail[0].1);
    assert!(
        !mail[0].1.contains("code"),
        "a link only: no code to type anywhere"
    );
    assert_eq!(
        p.live_codes(uid, T0 + 1).await,
        1,
        "the user's own code died"
    );
    let shown = super::link::show(&p.st, Some(&link), T0 + 2).await.unwrap();
    assert_eq!(shown.masked_destination, "m•••@example.com");
    // The user's earlier browser flow is not what the link saves through: its code is dead.
    let cl = client();
    let save = save(None, Some(&link), &cl);
    let done = complete(&p.st, &save, T0 + 3).await.unwrap();
    assert!(done.session_token.is_none(), "a link alone signs nobody in");
    assert_eq!(
        refusal(super::flow::show(&p.st, Some(&started.token), T0 + 4).await),
        Refusal::NoFlow,
        "the password change ended the user's other flow"
    );
}

#[tokio::test]
async fn in_hidden_mode_a_decoys_new_code_kills_the_earlier_one_as_a_real_accounts_does() {
    let p = portal(|r| {
        r.set("hide_account_existence", "true");
    })
    .await;
    p.add_user("maja@example.com", None, SignInMethod::Password)
        .await;
    for who in ["maja@example.com", "ghost@example.com"] {
        let first = p.start(who, T0).await.unwrap();
        p.start(who, T0 + 1).await.unwrap();
        let req = VerifyRequest {
            flow_token: Some(&first.token),
            code: "000000",
            client: &client(),
        };
        // The first browser's code died with the second request, real or decoy alike.
        assert!(
            matches!(
                refusal(verify(&p.st, &req, T0 + 2).await),
                Refusal::CodeExpired
            ),
            "{who}"
        );
    }
}

/// Hidden mode's timing: a new code kills the live one through an index of live codes, for a
/// real account and a decoy alike, never by walking the codes or flows an identifier was ever
/// sent (which grew a decoy's time with its history: bench/README.md, row 8).
#[tokio::test]
async fn a_new_code_finds_the_live_one_to_kill_by_index_for_a_real_account_and_a_decoy() {
    use crate::store::reset::{REVOKE_DECOY_CODES, REVOKE_USER_CODES};
    let p = portal(|_| {}).await;
    let mut c = p.st.store.conn().await.unwrap();
    for (sql, key, index) in [
        (REVOKE_USER_CODES, "7", "reset_codes_one_live_per_user"),
        (REVOKE_DECOY_CODES, "ident-key", "reset_codes_live_decoy"),
    ] {
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
            .bind(T0)
            .bind(key)
            .fetch_all(&mut *c)
            .await
            .unwrap();
        let details: Vec<String> = rows
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
            .collect();
        assert_eq!(details.len(), 1, "{sql}: {details:?}");
        assert!(
            details[0].starts_with("SEARCH reset_codes USING INDEX ") && details[0].contains(index),
            "{sql}: {details:?}"
        );
    }
}

/// Two requests that both read the code as live: the one whose turn comes second finds it
/// taken and writes nothing of a right code (no grant, no event), whatever it read before.
/// (The API's fifty parallel verifications reach this race only now and then.)
#[tokio::test]
async fn a_right_code_that_another_request_took_first_writes_nothing() {
    let p = portal(|_| {}).await;
    p.add_user("lo@example.com", None, SignInMethod::Password)
        .await;
    let started = p.start("lo@example.com", T0).await.unwrap();
    let code = code_in(&p.take_messages(T0).await[0].1);
    let c = client();
    let req = VerifyRequest {
        flow_token: Some(started.token.as_str()),
        code: &code,
        client: &c,
    };
    verify(&p.st, &req, T0 + 5).await.unwrap();
    let mut conn = p.st.store.conn().await.unwrap();
    let code_id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM reset_codes")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    // What the second request read before the first one's turn: a live code, entered right.
    let mut on_right = Batch::new();
    crate::store::limits::queue_record(&mut on_right, "written_after_a_lost_race", T0 + 5);
    let entry = super::caps::Entry {
        code_id,
        live: true,
        right: true,
        on_right,
        on_wrong: Batch::new(),
    };
    let entered = super::caps::enter(&p.st, &c, "user:lost-race", entry, T0 + 5)
        .await
        .unwrap();
    assert!(matches!(entered, super::caps::Entered::Lost));
    let mut conn = p.st.store.conn().await.unwrap();
    let written = crate::store::limits::count(&mut conn, "written_after_a_lost_race", 60, T0 + 5)
        .await
        .unwrap();
    assert_eq!(written, 0);
}
