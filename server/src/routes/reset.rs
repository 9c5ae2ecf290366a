//! Self-service password reset, by email or SMS (OWASP Forgot Password Cheat Sheet):
//! `POST /api/reset/start`, `GET|DELETE /api/reset/flow`, `POST /api/reset/resend`,
//! `POST /api/reset/verify`, `GET|POST /api/reset/link`, `POST /api/reset/password`.
//!
//! The flow is bound to the browser that started it by an HttpOnly cookie holding a 256-bit
//! token; codes and links are stored as keyed hashes; verifying a code turns the flow into a
//! 15-minute single-use grant; only Save consumes anything a link carries.

use app::ident::normalize_code;
use app::wire::{
    Channel as WireChannel, LinkState, OpenLinkRequest, ResetDone, ResetFlow, ResetStep,
    SetPasswordRequest, SignInMethod, StartResetRequest, VerifyCodeRequest,
};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::auth;
use crate::crypto::{new_code, new_token, same};
use crate::domain::identifier::Identifier;
use crate::domain::reset::{self as rules, code_state, cooldown_secs, secs_until, CodeState};
use crate::error::{human_duration, ApiError, ApiResult};
use crate::extract::{Client, Json, ServerCookie};
use crate::notify::templates::{self, Lang};
use crate::reset::change::{change_password, Change, ChangedBy};
use crate::state::AppState;
use crate::store::limits::{self, Verdict};
use crate::store::outbox::{self, Channel, NewMessage};
use crate::store::reset::{self as q, Flow, NewCode, NewFlow};
use crate::store::users::{self, User};
use crate::store::{audit, Conn};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reset/start", post(start))
        .route("/reset/flow", get(flow_state).delete(forget_flow))
        .route("/reset/resend", post(resend))
        .route("/reset/verify", post(verify))
        .route("/reset/link", get(link_state).post(open_link))
        .route("/reset/password", post(set_password))
}

fn flow_cookie(st: &AppState, token: &str) -> HeaderValue {
    super::cookie(
        ServerCookie::ResetFlow,
        token,
        Some(st.config.code_ttl_secs),
        &st.config,
    )
}

fn no_flow() -> ApiError {
    ApiError::not_found(
        "no_flow",
        "There is no password reset in progress in this browser. Start again.",
    )
}

fn expired() -> ApiError {
    ApiError::gone(
        "code_expired",
        "This code has expired or was replaced by a newer one. Request a new code.",
    )
}

fn link_expired() -> ApiError {
    ApiError::gone(
        "link_expired",
        "This link has expired or was already used. Send a new code.",
    )
}

/// Applies one rate limit, counting the refusal in the metrics.
async fn cap(
    st: &AppState,
    c: &mut Conn,
    name: &str,
    bucket: &str,
    max: u32,
    window: i64,
    now: i64,
) -> ApiResult<()> {
    match limits::hit(c, bucket, max, window, now).await? {
        Verdict::Allowed => Ok(()),
        Verdict::Refused { retry_after } => {
            st.metrics.refused(name);
            Err(ApiError::rate_limited(
                "rate_limited",
                retry_after,
                format!(
                    "Too many codes were requested. Try again in {}.",
                    human_duration(retry_after)
                ),
            ))
        }
    }
}

/// The TTL of a code sent over `channel`: the seed's 24 hours by email, 10 minutes by SMS
/// (NIST SP 800-63B-4: out-of-band secrets sent by SMS should be short-lived).
fn ttl(st: &AppState, channel: Channel) -> i64 {
    let secs = match channel {
        Channel::Email => st.config.code_ttl_secs,
        Channel::Sms => st.config.sms_code_ttl_secs,
    };
    i64::try_from(secs).unwrap_or(86_400)
}

fn sender(st: &AppState, channel: Channel) -> String {
    match (channel, &st.config.sms_provider) {
        (Channel::Sms, crate::config::SmsProvider::Twilio { from, .. }) => from.clone(),
        (Channel::Sms, _) => "SMS".into(),
        (Channel::Email, _) => st.config.mail_from.clone(),
    }
}

fn wire_channel(ch: &str) -> WireChannel {
    if ch == "sms" {
        WireChannel::Sms
    } else {
        WireChannel::Email
    }
}

fn channel_of(ch: &str) -> Channel {
    if ch == "sms" {
        Channel::Sms
    } else {
        Channel::Email
    }
}

/// The flow as the page sees it.
async fn describe(st: &AppState, c: &mut Conn, flow: &Flow, now: i64) -> ApiResult<ResetFlow> {
    let code = q::latest_code(c, flow.id).await?;
    let (expires_in, attempts_left) = match &code {
        Some(k) => match code_state(k.expires_at, k.attempts, k.consumed, k.revoked, now) {
            CodeState::Live { attempts_left } => (secs_until(k.expires_at, now), attempts_left),
            _ => (0, 0),
        },
        None => (0, 0),
    };
    let step = match flow.step.as_str() {
        "new_password" => ResetStep::NewPassword,
        "done" => ResetStep::Done,
        _ => ResetStep::Verify,
    };
    let policy = match (step, flow.user_id) {
        (ResetStep::NewPassword, Some(uid)) => match users::by_id(c, uid).await? {
            Some(u) => Some(auth::policy_for(c, &u).await?),
            None => None,
        },
        _ => None,
    };
    Ok(ResetFlow {
        step,
        channel: wire_channel(&flow.channel),
        masked_destination: flow.destination.clone(),
        sender: sender(st, channel_of(&flow.channel)),
        resend_after_secs: secs_until(flow.next_resend_at, now),
        code_expires_in_secs: expires_in,
        attempts_left,
        policy,
    })
}

async fn flow_from_cookie(st: &AppState, c: &mut Conn, headers: &HeaderMap) -> ApiResult<Flow> {
    let token = ServerCookie::ResetFlow
        .read(headers, &st.config)
        .ok_or_else(no_flow)?;
    let flow = q::flow_by_token(c, &st.keys.token_hash("reset-flow", &token))
        .await?
        .ok_or_else(no_flow)?;
    let now = st.now();
    if flow.expires_at + i64::try_from(rules::GRANT_TTL_SECS).unwrap_or(900) < now
        && flow.step != "done"
    {
        return Err(no_flow());
    }
    // A verified code whose 15 minutes ran out is not "done": say so, so the page offers a new
    // code instead of claiming the password was reset.
    if flow.step == "new_password" && flow.grant_expires_at.is_none_or(|g| g <= now) {
        return Err(grant_expired());
    }
    Ok(flow)
}

/// Who a code goes to and how.
struct Delivery {
    channel: Channel,
    /// The full address or E.164 number; only the outbox sees it.
    recipient: String,
    masked: String,
    /// The keyed hash of the identifier as typed: what the per-identity caps count under.
    ident_key: String,
}

/// Writes a new code for `user` (or a decoy code that nobody knows when `user` is `None`), kills
/// the previous one, queues the message and records the event, all in one transaction.
#[allow(clippy::too_many_arguments)]
async fn issue_code(
    st: &AppState,
    flow: Option<&Flow>,
    user: Option<&User>,
    d: &Delivery,
    lang: Lang,
    client: &Client,
    kind: &str,
    now: i64,
) -> ApiResult<(i64, Option<String>)> {
    let code = new_code();
    let link = new_token();
    let ttl = ttl(st, d.channel);
    let base = st.config.resend_cooldown_secs;
    let mut tx = st.store.begin().await?;
    let (flow_id, flow_token) = match flow {
        Some(f) => {
            let next = now + i64::try_from(cooldown_secs(base, f.resend_count + 1)).unwrap_or(300);
            q::flow_resent(&mut tx, f.id, now + ttl, next).await?;
            (f.id, None)
        }
        None => {
            let token = new_token();
            let id = q::insert_flow(
                &mut tx,
                &NewFlow {
                    token_hash: &st.keys.token_hash("reset-flow", &token),
                    user_id: user.map(|u| u.id),
                    channel: d.channel.as_str(),
                    destination: &d.masked,
                    lang: lang.as_str(),
                    expires_at: now + ttl,
                    next_resend_at: now + i64::try_from(cooldown_secs(base, 0)).unwrap_or(60),
                    ident_key: &d.ident_key,
                },
                now,
            )
            .await?;
            (id, Some(token))
        }
    };
    let uid = user.map(|u| u.id);
    q::replace_code(
        &mut tx,
        &NewCode {
            flow_id,
            user_id: uid,
            channel: d.channel.as_str(),
            code_hash: &st.keys.code_hash(uid, &code),
            link_hash: &st.keys.token_hash("reset-link", &link),
            expires_at: now + ttl,
            ident_key: &d.ident_key,
        },
        now,
    )
    .await?;
    // A decoy renders, seals and queues a message like a real one (with no recipient, so the
    // worker discards it unsent) and writes one small row where a real flow writes its audit
    // event: the same work, so the answer takes the same time (OWASP Forgot Password Cheat
    // Sheet: "consistent response times"). Decoys' rows are pruned like the rest.
    let name = user.map_or("", |u| u.name.as_str());
    let msg = match d.channel {
        Channel::Email => templates::reset_code_email(
            lang,
            name,
            &code,
            &format!("{}/reset?token={link}", st.config.public_origin()),
            u64::try_from(ttl).unwrap_or(0),
            &auth::utc(now + ttl),
        ),
        Channel::Sms => templates::reset_code_sms(
            lang,
            &code,
            u64::try_from(ttl).unwrap_or(0),
            &st.config.public_host(),
        ),
    };
    outbox::enqueue(
        &mut tx,
        &st.keys,
        &NewMessage {
            idempotency_key: new_token(),
            channel: d.channel,
            recipient: if user.is_some() {
                d.recipient.clone()
            } else {
                String::new()
            },
            subject: msg.subject,
            body_text: msg.text,
            body_html: msg.html,
            account_id: user.map(|u| u.account_id),
            user_id: user.map(|u| u.id),
        },
        now,
    )
    .await?;
    match user {
        Some(u) => {
            audit::record(
                &mut tx,
                &audit::Event {
                    kind,
                    account_id: Some(u.account_id),
                    target_user_id: Some(u.id),
                    ip: Some(&client.ip),
                    user_agent: Some(&client.user_agent),
                    detail: Some(d.channel.as_str()),
                    ..Default::default()
                },
                now,
            )
            .await?
        }
        None => limits::record(&mut tx, "decoy_codes", now).await?,
    }
    tx.commit().await?;
    st.outbox_wake.notify_one();
    Ok((flow_id, flow_token))
}

/// The abuse caps on SMS (SMS pumping: OWASP Forgot Password Cheat Sheet, "SMS": limit per
/// number, per range and overall; only send to countries the business serves). A decoy flow
/// counts exactly like a real one, so in hidden mode a cap says nothing about whether a number
/// belongs to an account. The number is counted under its keyed hash (`ident_key`); the range
/// (`prefix`) is known when the flow starts, and resends are held by the number's and the
/// global caps.
#[allow(clippy::too_many_arguments)]
async fn sms_caps(
    st: &AppState,
    c: &mut Conn,
    ident_key: &str,
    prefix: Option<&str>,
    user: Option<&User>,
    client: &Client,
    now: i64,
) -> ApiResult<()> {
    let cfg = &st.config;
    let mut checks = vec![
        (
            "sms_number_hour",
            format!("sms_num_h:{ident_key}"),
            cfg.sms_per_number_hour,
            3600,
        ),
        (
            "sms_number_day",
            format!("sms_num_d:{ident_key}"),
            cfg.sms_per_number_day,
            86_400,
        ),
    ];
    if let Some(prefix) = prefix {
        checks.push((
            "sms_prefix_hour",
            format!("sms_prefix_h:{prefix}"),
            cfg.sms_per_prefix_hour,
            3600,
        ));
    }
    checks.push((
        "sms_global_hour",
        "sms_global_h".to_string(),
        cfg.sms_global_hour,
        3600,
    ));
    for (name, bucket, max, window) in checks {
        if let Err(e) = cap(st, c, name, &bucket, max, window, now).await {
            if let Some(user) = user {
                audit::record(
                    c,
                    &audit::Event {
                        kind: "sms_blocked",
                        account_id: Some(user.account_id),
                        target_user_id: Some(user.id),
                        ip: Some(&client.ip),
                        user_agent: Some(&client.user_agent),
                        detail: Some(name),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            }
            tracing::warn!(limit = name, "SMS refused by an abuse cap");
            return Err(e);
        }
    }
    Ok(())
}

/// What the guessing block counts under: the account for a real flow, the identifier typed for
/// a decoy (so in hidden mode a decoy is blocked exactly when a real account would be).
fn block_key(flow_user: Option<i64>, ident_key: &str) -> String {
    match flow_user {
        Some(uid) => format!("user:{uid}"),
        None => format!("id:{ident_key}"),
    }
}

/// The identity key of a flow (older flows without one count per flow).
fn flow_ident_key(st: &AppState, flow: &Flow) -> String {
    flow.ident_key
        .clone()
        .unwrap_or_else(|| st.keys.mac(&["flow", &flow.id.to_string()]))
}

/// Refuses while the block is on: an hour after too many wrong codes.
async fn check_blocked(st: &AppState, c: &mut Conn, key: &str, now: i64) -> ApiResult<()> {
    match limits::check(
        c,
        &format!("reset_block:{key}"),
        1,
        i64::try_from(rules::ACCOUNT_BLOCK_SECS).unwrap_or(3600),
        now,
    )
    .await?
    {
        Verdict::Allowed => Ok(()),
        Verdict::Refused { retry_after } => Err(reset_blocked(
            st,
            now + i64::try_from(retry_after).unwrap_or(3600),
            now,
        )),
    }
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/start", tag = "reset", request_body = app::wire::StartResetRequest, responses((status = 200, description = "Code sent", body = app::wire::ResetFlow), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 404, description = "The account does not exist", body = app::wire::ErrorBody), (status = 409, description = "Signs in with a provider", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody), (status = 503, description = "Database unavailable", body = app::wire::ErrorBody)))]
pub(crate) async fn start(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<StartResetRequest>,
) -> ApiResult<Response> {
    let now = st.now();
    let lang = super::request_lang(&headers);
    let ident = Identifier::parse(&req.identifier, st.config.default_region).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_identifier",
            "Enter a valid email address or phone number.",
        )
        .field("identifier")
    })?;
    if let Identifier::Phone(p) = &ident {
        if !st.config.sms_country_codes.contains(&p.country_code()) {
            st.metrics.refused("sms_country");
            return Err(ApiError::bad_request(
                "sms_country_not_allowed",
                "Codes by text message cannot be sent to this country. Use your email address instead.",
            )
            .field("identifier"));
        }
    }
    let mut c = st.store.conn().await?;
    cap(
        &st,
        &mut c,
        "reset_ip",
        &format!("reset_ip:{}", client.rate_key),
        st.config.ip_requests_per_hour,
        3600,
        now,
    )
    .await?;
    let user = match &ident {
        Identifier::Email(e) => users::by_email(&mut c, &e.lower()).await?,
        Identifier::Phone(p) => users::by_phone(&mut c, p.e164()).await?,
    }
    .filter(|u| u.active);
    // The per-identity caps are keyed by what was typed, so a decoy answer does the same work.
    let ident_key = st.keys.mac(&[
        "ident",
        &match &ident {
            Identifier::Email(e) => e.lower(),
            Identifier::Phone(p) => p.e164().to_string(),
        },
    ]);
    // The code goes to the address on file, never to the text as typed: a lookup that folds
    // case (or Unicode) must not let "ADMİN@…" receive admin@…'s code at another mailbox.
    let delivery = match (&ident, &user) {
        (Identifier::Email(e), u) => Delivery {
            channel: Channel::Email,
            recipient: u
                .as_ref()
                .map_or_else(|| e.as_str().to_string(), |u| u.email.clone()),
            masked: e.masked(),
            ident_key: ident_key.clone(),
        },
        (Identifier::Phone(p), u) => Delivery {
            channel: Channel::Sms,
            recipient: u
                .as_ref()
                .and_then(|u| u.phone.clone())
                .unwrap_or_else(|| p.e164().to_string()),
            masked: p.masked(),
            ident_key: ident_key.clone(),
        },
    };
    let hide = st.config.hide_account_existence;
    let user = match user {
        Some(u) if u.sign_in_method == SignInMethod::Password => Some(u),
        Some(u) if !hide => {
            audit::record(
                &mut c,
                &audit::Event {
                    kind: "reset_refused_sso",
                    account_id: Some(u.account_id),
                    target_user_id: Some(u.id),
                    ip: Some(&client.ip),
                    user_agent: Some(&client.user_agent),
                    detail: Some(u.sign_in_method.as_str()),
                    ..Default::default()
                },
                now,
            )
            .await?;
            return Err(ApiError::sso(
                u.sign_in_method,
                "Reset your password with that provider.",
            ));
        }
        Some(u) => {
            // Hidden mode: answer as for anyone, and tell the owner of the address by email.
            sso_notice(&st, &mut c, &u, lang, &ident_key, now).await?;
            None
        }
        None if !hide => {
            return Err(ApiError::not_found(
                "account_not_found",
                "The account does not exist. Check the email address or phone number you entered.",
            )
            .field("identifier"));
        }
        None => None,
    };
    // From here on a decoy takes exactly the steps a real flow takes: the same caps, counted
    // the same way, so no answer tells them apart (OWASP Forgot Password Cheat Sheet:
    // "consistent responses" for existent and non-existent accounts).
    check_blocked(
        &st,
        &mut c,
        &block_key(user.as_ref().map(|u| u.id), &ident_key),
        now,
    )
    .await?;
    cap(
        &st,
        &mut c,
        "codes_hour",
        &format!("codes_h:{ident_key}"),
        st.config.codes_per_hour,
        3600,
        now,
    )
    .await?;
    cap(
        &st,
        &mut c,
        "codes_day",
        &format!("codes_d:{ident_key}"),
        st.config.codes_per_day,
        86_400,
        now,
    )
    .await?;
    if let Identifier::Phone(p) = &ident {
        sms_caps(
            &st,
            &mut c,
            &ident_key,
            Some(&p.prefix()),
            user.as_ref(),
            &client,
            now,
        )
        .await?;
    }
    drop(c);
    let (flow_id, token) = issue_code(
        &st,
        None,
        user.as_ref(),
        &delivery,
        lang,
        &client,
        "reset_requested",
        now,
    )
    .await?;
    let mut c = st.store.conn().await?;
    let flow = q::flow_by_id(&mut c, flow_id).await?.ok_or_else(no_flow)?;
    let body = describe(&st, &mut c, &flow, now).await?;
    // A new flow replaces whatever reset this browser was on: a link opened here earlier (perhaps
    // by someone else on a shared computer) must never be what this browser's Save acts on.
    let mut cookies = vec![super::clear_cookie(ServerCookie::ResetLink, &st.config)];
    cookies.extend(token.map(|t| flow_cookie(&st, &t)));
    Ok(super::with_cookies(
        StatusCode::OK,
        axum::Json(body),
        cookies,
    ))
}

fn reset_blocked(st: &AppState, until: i64, now: i64) -> ApiError {
    st.metrics.refused("reset_blocked");
    let wait = secs_until(until, now);
    ApiError::rate_limited(
        "reset_blocked",
        wait,
        format!(
            "Too many wrong codes were entered for this account. Password reset is paused; try again in {}. Signing in with your current password still works.",
            human_duration(wait)
        ),
    )
}

/// Hidden mode and an SSO account: no code, but the owner learns by email where to reset.
async fn sso_notice(
    st: &AppState,
    c: &mut Conn,
    u: &User,
    lang: Lang,
    ident_key: &str,
    now: i64,
) -> ApiResult<()> {
    if limits::hit(c, &format!("sso_notice:{ident_key}"), 3, 86_400, now).await? != Verdict::Allowed
    {
        return Ok(());
    }
    let m = templates::sso_notice_email(
        lang,
        &u.name,
        u.sign_in_method.display_name(),
        u.sign_in_method.recovery_url(),
    );
    outbox::enqueue(
        c,
        &st.keys,
        &NewMessage {
            idempotency_key: new_token(),
            channel: Channel::Email,
            recipient: u.email.clone(),
            subject: m.subject,
            body_text: m.text,
            body_html: m.html,
            account_id: Some(u.account_id),
            user_id: Some(u.id),
        },
        now,
    )
    .await?;
    st.outbox_wake.notify_one();
    Ok(())
}

#[utoipa::path(get, path = "/api/reset/flow", tag = "reset", responses((status = 200, description = "OK", body = app::wire::ResetFlow), (status = 404, description = "No flow in this browser", body = app::wire::ErrorBody), (status = 410, description = "The verified code's 15 minutes ran out (grant_expired): request a new code", body = app::wire::ErrorBody)))]
pub(crate) async fn flow_state(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let flow = flow_from_cookie(&st, &mut c, &headers).await?;
    let now = st.now();
    Ok(axum::Json(describe(&st, &mut c, &flow, now).await?).into_response())
}

/// "Use a different email or phone number": this browser forgets its flow. Codes already sent
/// stay valid until they expire or are replaced, as the seed describes.
#[utoipa::path(delete, path = "/api/reset/flow", tag = "reset", responses((status = 204, description = "Forgotten")))]
pub(crate) async fn forget_flow(State(st): State<AppState>) -> Response {
    super::with_cookies(
        StatusCode::NO_CONTENT,
        (),
        vec![
            super::clear_cookie(ServerCookie::ResetFlow, &st.config),
            super::clear_cookie(ServerCookie::ResetLink, &st.config),
        ],
    )
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/resend", tag = "reset", responses((status = 200, description = "New code sent", body = app::wire::ResetFlow), (status = 404, description = "No flow in this browser", body = app::wire::ErrorBody), (status = 410, description = "The verified code's 15 minutes ran out (grant_expired)", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn resend(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let now = st.now();
    let mut c = st.store.conn().await?;
    let flow = flow_from_cookie(&st, &mut c, &headers).await?;
    if flow.step != "verify" {
        return Ok(axum::Json(describe(&st, &mut c, &flow, now).await?).into_response());
    }
    if now < flow.next_resend_at {
        let wait = secs_until(flow.next_resend_at, now);
        return Err(ApiError::rate_limited(
            "resend_too_soon",
            wait,
            format!("You can ask for a new code in {}.", human_duration(wait)),
        ));
    }
    cap(
        &st,
        &mut c,
        "reset_ip",
        &format!("reset_ip:{}", client.rate_key),
        st.config.ip_requests_per_hour,
        3600,
        now,
    )
    .await?;
    let user = match flow.user_id {
        Some(uid) => users::by_id(&mut c, uid)
            .await?
            .filter(|u| u.active && u.sign_in_method == SignInMethod::Password),
        None => None,
    };
    if flow.user_id.is_some() && user.is_none() {
        return Err(no_flow());
    }
    // The same identity key, block and caps for a decoy as for a real flow (hidden mode).
    let ident_key = flow_ident_key(&st, &flow);
    check_blocked(&st, &mut c, &block_key(flow.user_id, &ident_key), now).await?;
    cap(
        &st,
        &mut c,
        "codes_hour",
        &format!("codes_h:{ident_key}"),
        st.config.codes_per_hour,
        3600,
        now,
    )
    .await?;
    cap(
        &st,
        &mut c,
        "codes_day",
        &format!("codes_d:{ident_key}"),
        st.config.codes_per_day,
        86_400,
        now,
    )
    .await?;
    let channel = channel_of(&flow.channel);
    let recipient = match (&user, channel) {
        (Some(u), Channel::Email) => u.email.clone(),
        (Some(u), Channel::Sms) => u.phone.clone().ok_or_else(no_flow)?,
        (None, _) => String::new(),
    };
    if channel == Channel::Sms {
        sms_caps(&st, &mut c, &ident_key, None, user.as_ref(), &client, now).await?;
    }
    drop(c);
    let d = Delivery {
        channel,
        recipient,
        masked: flow.destination.clone(),
        ident_key,
    };
    issue_code(
        &st,
        Some(&flow),
        user.as_ref(),
        &d,
        Lang::parse(&flow.lang),
        &client,
        "code_resent",
        now,
    )
    .await?;
    let mut c = st.store.conn().await?;
    let flow = q::flow_by_id(&mut c, flow.id).await?.ok_or_else(no_flow)?;
    Ok(axum::Json(describe(&st, &mut c, &flow, now).await?).into_response())
}

#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/verify", tag = "reset", request_body = app::wire::VerifyCodeRequest, responses((status = 200, description = "Verified", body = app::wire::ResetFlow), (status = 400, description = "Wrong code", body = app::wire::ErrorBody), (status = 404, description = "No flow in this browser", body = app::wire::ErrorBody), (status = 409, description = "Already verified", body = app::wire::ErrorBody), (status = 410, description = "Code expired or exhausted, or the grant expired", body = app::wire::ErrorBody), (status = 429, description = "Rate limited (Retry-After)", body = app::wire::ErrorBody)))]
pub(crate) async fn verify(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<VerifyCodeRequest>,
) -> ApiResult<Response> {
    let now = st.now();
    let mut c = st.store.conn().await?;
    let flow = flow_from_cookie(&st, &mut c, &headers).await?;
    if flow.step != "verify" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_verified",
            "This code was already used. Continue with your new password.",
        ));
    }
    let Some(code) = normalize_code(&req.code) else {
        return Err(ApiError::bad_request(
            "invalid_code_format",
            "Enter the 6-digit code from the message.",
        )
        .field("code"));
    };
    cap(
        &st,
        &mut c,
        "verify_ip",
        &format!("verify_ip:{}", client.rate_key),
        st.config.ip_verifications_per_hour,
        3600,
        now,
    )
    .await?;
    let user = match flow.user_id {
        Some(uid) => users::by_id(&mut c, uid).await?,
        None => None,
    };
    let ident_key = flow_ident_key(&st, &flow);
    let key = block_key(flow.user_id, &ident_key);
    check_blocked(&st, &mut c, &key, now).await?;
    let stored = q::latest_code(&mut c, flow.id).await?.ok_or_else(expired)?;
    match code_state(
        stored.expires_at,
        stored.attempts,
        stored.consumed,
        stored.revoked,
        now,
    ) {
        CodeState::Live { .. } => {}
        CodeState::Exhausted => return Err(exhausted()),
        CodeState::Expired | CodeState::Used => return Err(expired()),
    }
    // This guess takes its place in the day's window before the code is compared, so parallel
    // guesses cannot all pass a count that is only raised afterwards.
    let Some(guess) = take_guess(&mut c, &key, now).await? else {
        // No place left in the window, or other guesses hold the last places right now: this
        // one is not compared. Only a wrong answer within the allowance starts the block, so a
        // burst of right codes (a double click) never blocks anyone.
        st.metrics.refused("verify_account");
        return Err(ApiError::too_many(1));
    };
    if same(&st.keys.code_hash(stored.user_id, &code), &stored.code_hash) {
        let mut tx = st.store.begin_on(&mut c).await?;
        limits::release(&mut tx, &guess.slot).await?;
        if !q::consume_code(&mut tx, stored.id, rules::MAX_ATTEMPTS, now).await? {
            return Err(expired());
        }
        q::grant(
            &mut tx,
            flow.id,
            now + i64::try_from(rules::GRANT_TTL_SECS).unwrap_or(900),
        )
        .await?;
        if let Some(u) = &user {
            audit::record(
                &mut tx,
                &audit::Event {
                    kind: "code_verified",
                    account_id: Some(u.account_id),
                    target_user_id: Some(u.id),
                    ip: Some(&client.ip),
                    user_agent: Some(&client.user_agent),
                    ..Default::default()
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        let flow = q::flow_by_id(&mut c, flow.id).await?.ok_or_else(no_flow)?;
        return Ok(axum::Json(describe(&st, &mut c, &flow, now).await?).into_response());
    }
    // A wrong guess: count it on the code (5 per code) and, above, in the account's day.
    let used = q::wrong_guess(&mut c, stored.id, rules::MAX_ATTEMPTS)
        .await?
        .unwrap_or(rules::MAX_ATTEMPTS);
    if let Some(u) = &user {
        audit::record(
            &mut c,
            &audit::Event {
                kind: "code_verification_failed",
                account_id: Some(u.account_id),
                target_user_id: Some(u.id),
                ip: Some(&client.ip),
                user_agent: Some(&client.user_agent),
                ..Default::default()
            },
            now,
        )
        .await?;
    }
    if guess.last {
        block(&st, &mut c, &flow, user.as_ref(), &key, &client, now).await?;
        return Err(blocked_for_an_hour(&st, now));
    }
    let left = rules::MAX_ATTEMPTS.saturating_sub(used);
    if left == 0 {
        return Err(exhausted());
    }
    let mut e = ApiError::bad_request(
        "invalid_code",
        format!(
            "That code is not right. {left} attempt{} left.",
            if left == 1 { "" } else { "s" }
        ),
    )
    .field("code");
    e.body.attempts_left = Some(left);
    Err(e)
}

/// A guess's place in the window of wrong codes.
struct Guess {
    slot: limits::Slot,
    /// A wrong answer to this guess starts the block.
    last: bool,
}

/// The guessing bound (NIST SP 800-63B-4 3.2.2: limit failed attempts): 10 wrong codes per
/// account (or, for a decoy, per identifier) in 24 hours, then resets pause for an hour; after
/// that one guess an hour, each wrong one pausing another hour. `None` when no guess is left.
async fn take_guess(c: &mut Conn, key: &str, now: i64) -> ApiResult<Option<Guess>> {
    let max = rules::ACCOUNT_FAILURES_PER_DAY;
    if let Ok(slot) = limits::reserve(c, &format!("verify_fail:{key}"), max, 86_400, now).await? {
        let last = slot.count >= i64::from(max);
        return Ok(Some(Guess { slot, last }));
    }
    // The day's allowance is used up. Right after the block starts, parallel guesses find no
    // block yet: they are refused. Once a block has run its hour, one guess an hour.
    let hour = i64::try_from(rules::ACCOUNT_BLOCK_SECS).unwrap_or(3600);
    let marker = format!("reset_block:{key}");
    if limits::count(c, &marker, 86_400, now).await? == 0
        || limits::count(c, &marker, hour, now).await? > 0
    {
        return Ok(None);
    }
    Ok(
        match limits::reserve(c, &format!("verify_after_block:{key}"), 1, hour, now).await? {
            Ok(slot) => Some(Guess { slot, last: true }),
            Err(_) => None,
        },
    )
}

/// Starts the hour's pause: every live code of the account (or of the identifier's decoys) is
/// killed, so a real and a decoy flow look the same afterwards too.
async fn block(
    st: &AppState,
    c: &mut Conn,
    flow: &Flow,
    user: Option<&User>,
    key: &str,
    client: &Client,
    now: i64,
) -> ApiResult<()> {
    // The block is this window's one event (what `check_blocked` reads), nothing else.
    let mut tx = st.store.begin_on(c).await?;
    limits::record(&mut tx, &format!("reset_block:{key}"), now).await?;
    match user {
        Some(u) => {
            q::revoke_user_codes(&mut tx, u.id, now).await?;
            audit::record(
                &mut tx,
                &audit::Event {
                    kind: "reset_blocked",
                    account_id: Some(u.account_id),
                    target_user_id: Some(u.id),
                    ip: Some(&client.ip),
                    detail: Some("too many failed verifications in 24 hours"),
                    ..Default::default()
                },
                now,
            )
            .await?;
        }
        None => {
            if let Some(ident) = &flow.ident_key {
                q::revoke_decoy_codes(&mut tx, ident, now).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

fn blocked_for_an_hour(st: &AppState, now: i64) -> ApiError {
    reset_blocked(
        st,
        now + i64::try_from(rules::ACCOUNT_BLOCK_SECS).unwrap_or(3600),
        now,
    )
}

fn exhausted() -> ApiError {
    ApiError::gone(
        "code_exhausted",
        "Too many wrong attempts: this code no longer works. Request a new code.",
    )
}

/// Looks up a live link; the code row it belongs to must still be live.
async fn live_link(
    st: &AppState,
    c: &mut Conn,
    token: &str,
) -> ApiResult<(crate::store::reset::Code, User, Flow)> {
    if token.is_empty() || token.len() > 128 {
        return Err(link_expired());
    }
    let code = q::code_by_link(c, &st.keys.token_hash("reset-link", token))
        .await?
        .ok_or_else(link_expired)?;
    if !matches!(
        code_state(
            code.expires_at,
            code.attempts,
            code.consumed,
            code.revoked,
            st.now()
        ),
        CodeState::Live { .. }
    ) {
        return Err(link_expired());
    }
    let user = match code.user_id {
        Some(uid) => users::by_id(c, uid)
            .await?
            .filter(|u| u.active)
            .ok_or_else(link_expired)?,
        None => return Err(link_expired()),
    };
    let flow = q::flow_by_id(c, code.flow_id)
        .await?
        .ok_or_else(link_expired)?;
    Ok((code, user, flow))
}

/// Opening the emailed link changes nothing (mail scanners fetch links); the token moves into an
/// HttpOnly cookie so the page can take it out of the address bar and history.
#[utoipa::path(post, path = "/api/reset/link", tag = "reset", request_body = app::wire::OpenLinkRequest, responses((status = 200, description = "OK", body = app::wire::LinkState), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 410, description = "Link expired", body = app::wire::ErrorBody)))]
pub(crate) async fn open_link(
    State(st): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<OpenLinkRequest>,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let (code, user, flow) = live_link(&st, &mut c, req.token.trim()).await?;
    let body = LinkState {
        masked_destination: flow.destination.clone(),
        policy: auth::policy_for(&mut c, &user).await?,
    };
    let browser_flow = browser_flow(&st, &mut c, &headers).await?;
    let max_age = secs_until(code.expires_at, st.now());
    let mut cookies = vec![super::cookie(
        ServerCookie::ResetLink,
        req.token.trim(),
        Some(max_age),
        &st.config,
    )];
    // The link is now what this browser is on; a code flow for another reset is forgotten, so
    // exactly one flow is ever in play (the link's own flow stays: Save then signs this browser in).
    if browser_flow.is_some_and(|f| f.id != flow.id) {
        cookies.push(super::clear_cookie(ServerCookie::ResetFlow, &st.config));
    }
    Ok(super::with_cookies(
        StatusCode::OK,
        axum::Json(body),
        cookies,
    ))
}

/// The flow this browser's flow cookie names, if any (expired or not).
async fn browser_flow(st: &AppState, c: &mut Conn, headers: &HeaderMap) -> ApiResult<Option<Flow>> {
    match ServerCookie::ResetFlow.read(headers, &st.config) {
        Some(t) => Ok(q::flow_by_token(c, &st.keys.token_hash("reset-flow", &t)).await?),
        None => Ok(None),
    }
}

#[utoipa::path(get, path = "/api/reset/link", tag = "reset", responses((status = 200, description = "OK", body = app::wire::LinkState), (status = 410, description = "Link expired", body = app::wire::ErrorBody)))]
pub(crate) async fn link_state(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = ServerCookie::ResetLink
        .read(&headers, &st.config)
        .ok_or_else(link_expired)?;
    let mut c = st.store.conn().await?;
    let (_, user, flow) = live_link(&st, &mut c, &token).await?;
    let body = LinkState {
        masked_destination: flow.destination.clone(),
        policy: auth::policy_for(&mut c, &user).await?,
    };
    Ok(axum::Json(body).into_response())
}

/// Save: consumes the grant (or the link) and sets the password, revokes every session, signs in
/// only the browser that started the flow, and queues the confirmation email; one transaction.
#[tracing::instrument(skip_all, fields(ip = %client.ip))]
#[utoipa::path(post, path = "/api/reset/password", tag = "reset", request_body = app::wire::SetPasswordRequest, responses((status = 200, description = "Password reset", body = app::wire::ResetDone), (status = 400, description = "Invalid input", body = app::wire::ErrorBody), (status = 410, description = "Grant or link expired", body = app::wire::ErrorBody)))]
pub(crate) async fn set_password(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<SetPasswordRequest>,
) -> ApiResult<Response> {
    let mut c = st.store.conn().await?;
    let browser_flow = browser_flow(&st, &mut c, &headers).await?;
    let link = match ServerCookie::ResetLink.read(&headers, &st.config) {
        Some(token) => live_link(&st, &mut c, &token).await.ok(),
        None => None,
    };
    let now = st.now();
    let granted = browser_flow
        .as_ref()
        .filter(|f| f.step == "new_password" && f.grant_expires_at.is_some_and(|g| g > now));
    // Save acts on exactly one flow, the one this browser is on. Starting a flow clears the link
    // cookie and opening a link clears another flow's cookie, so a live link of one reset beside
    // a flow cookie of another is never something this portal set; refuse it rather than guess
    // (a shared computer where someone else opened a link is exactly that case). A dead link
    // cookie is ignored, so it never blocks the code flow it sits beside.
    enum Via {
        Link(i64),
        Grant(i64),
    }
    let (via, user, signs_in) = match (granted, link) {
        (Some(f), Some((_, _, lf))) if lf.id != f.id => return Err(grant_expired()),
        (Some(f), _) => {
            let user = match f.user_id {
                Some(uid) => users::by_id(&mut c, uid)
                    .await?
                    .filter(|u| u.active)
                    .ok_or_else(grant_expired)?,
                None => return Err(grant_expired()),
            };
            (Via::Grant(f.id), user, true)
        }
        (None, Some((code, user, lf))) => {
            if browser_flow.as_ref().is_some_and(|f| f.id != lf.id) {
                return Err(grant_expired());
            }
            let signs_in = browser_flow.is_some();
            (Via::Link(code.id), user, signs_in)
        }
        (None, None) => return Err(grant_expired()),
    };
    drop(c);
    let hash = auth::prepare_password(&st, &user, &req.new_password, &req.confirm_password).await?;
    let now = st.now();
    let lang = browser_flow
        .as_ref()
        .map(|f| Lang::parse(&f.lang))
        .unwrap_or_else(|| super::request_lang(&headers));
    let mut tx = st.store.begin().await?;
    let won = match via {
        Via::Link(code_id) => {
            let ok = q::consume_code(&mut tx, code_id, rules::MAX_ATTEMPTS, now).await?;
            if ok {
                if let Some(f) = &browser_flow {
                    q::finish_flow(&mut tx, f.id, now).await?;
                }
            }
            ok
        }
        Via::Grant(flow_id) => q::consume_grant(&mut tx, flow_id, now).await?,
    };
    if !won {
        // Another Save got there first, or the grant ran out while hashing.
        return Err(grant_expired());
    }
    let origin = auth::origin(&client, now);
    change_password(
        &mut tx,
        &st.keys,
        &Change {
            user: &user,
            hash: &hash,
            by: ChangedBy::Reset { signs_in },
            keep_session: None,
            origin: Some(&origin),
            user_agent: Some(&client.user_agent),
            public_origin: &st.config.public_origin(),
            lang,
        },
        now,
    )
    .await?;
    let mut cookies = vec![
        super::clear_cookie(ServerCookie::ResetFlow, &st.config),
        super::clear_cookie(ServerCookie::ResetLink, &st.config),
    ];
    if signs_in {
        cookies.push(auth::start_session(&st, &mut tx, user.id, &client).await?);
    }
    tx.commit().await?;
    st.outbox_wake.notify_one();
    Ok(super::with_cookies(
        StatusCode::OK,
        axum::Json(ResetDone {
            signed_in: signs_in,
        }),
        cookies,
    ))
}

fn grant_expired() -> ApiError {
    ApiError::gone(
        "grant_expired",
        "This password reset has expired or was already completed. Request a new code.",
    )
}
