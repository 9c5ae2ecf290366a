//! Every user-visible string, looked up by key in the table of the current locale.
//!
//! A hand-written table rather than a crate such as `leptos_i18n`: the portal has two languages and
//! a few hundred words, and an exhaustive `match` per locale makes the compiler refuse a missing
//! translation, without the build step, the macro compile time or the bundle weight of a crate.
//! The locale is chosen once per page load (`?lang=sv|en`, then the saved choice, then English),
//! because switching mid-flow would leave half-translated server messages on screen.

mod en;
mod sv;

use std::cell::Cell;

use wasm_bindgen::JsCast;

use crate::api::ApiError;
use crate::policy::Violation;

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Sv,
}

impl Locale {
    /// The BCP 47 tag for `<html lang>` and `Intl`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Sv => "sv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "sv" => Some(Self::Sv),
            _ => None,
        }
    }
}

thread_local! {
    static LOCALE: Cell<Locale> = const { Cell::new(Locale::En) };
}

/// The key under which a `?lang=` choice is remembered.
const STORAGE_KEY: &str = "lang";

/// Picks the locale for this page load and sets `<html lang>` to match.
pub fn init() {
    let window = web_sys::window();
    let from_query = window
        .as_ref()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| {
            search
                .trim_start_matches('?')
                .split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .and_then(Locale::parse)
        });
    let storage = window
        .as_ref()
        .and_then(|w| w.local_storage().ok().flatten());
    let locale = match from_query {
        Some(l) => {
            if let Some(s) = &storage {
                // Storage can be full or disabled; the choice then lasts for this page only.
                let _ = s.set_item(STORAGE_KEY, l.tag());
            }
            l
        }
        None => storage
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .and_then(|v| Locale::parse(&v))
            .unwrap_or(Locale::En),
    };
    LOCALE.with(|c| c.set(locale));
    let document = window.and_then(|w| w.document());
    if let Some(html) = document.as_ref().and_then(|d| d.document_element()) {
        let _ = html.set_attribute("lang", locale.tag());
    }
    if let Some(doc) = document.and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok()) {
        // The server writes codes and notices in the language of this cookie, so the email a
        // reset sends reads like the page that asked for it. Not HttpOnly: the page sets it.
        let _ = doc.set_cookie(&lang_cookie(locale));
    }
}

/// The `portal_lang` cookie for `locale`: the whole site, a year, `SameSite=Lax`.
fn lang_cookie(locale: Locale) -> String {
    format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        locale.tag()
    )
}

/// The cookie the server reads a request's language from (server/src/extract.rs).
const LANG_COOKIE: &str = "portal_lang";

/// The locale of this page load.
pub fn locale() -> Locale {
    LOCALE.with(Cell::get)
}

/// The text for `key` in the current locale.
pub fn t(key: Msg) -> &'static str {
    match locale() {
        Locale::En => en::text(key),
        Locale::Sv => sv::text(key),
    }
}

/// The text for `key` with each `{name}` replaced by its value.
pub fn tf(key: Msg, args: &[(&str, &str)]) -> String {
    let mut out = t(key).to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// "0:42": minutes and seconds, for countdowns.
pub fn mmss(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// "Try again in 5 minutes." from a `retry_after_secs`.
pub fn try_again_in(secs: u64) -> String {
    if secs <= 60 {
        tf(Msg::TryAgainInSeconds, &[("n", &secs.max(1).to_string())])
    } else {
        let minutes = secs.div_ceil(60);
        tf(Msg::TryAgainInMinutes, &[("n", &minutes.to_string())])
    }
}

/// One failed password rule, in the current locale.
pub fn violation(v: &Violation) -> String {
    match locale() {
        Locale::En => v.message(),
        Locale::Sv => sv::violation(v),
    }
}

/// What to show for a failed request: the translation of its code when there is one in a locale
/// other than English, else the server's English message; plus when to try again after a limit.
pub fn error_text(err: &ApiError) -> String {
    let body = &err.body;
    let mut text = match body.error.as_str() {
        ApiError::NETWORK => t(Msg::ErrNetwork).to_string(),
        ApiError::UNEXPECTED => t(Msg::ErrUnexpected).to_string(),
        "password_policy" if !body.violations.is_empty() => body
            .violations
            .iter()
            .map(violation)
            .collect::<Vec<_>>()
            .join(" "),
        code => match (locale(), code_text(code)) {
            (Locale::En, _) | (_, None) if !body.message.is_empty() => body.message.clone(),
            (_, Some(key)) => t(key).to_string(),
            (_, None) => t(Msg::ErrUnexpected).to_string(),
        },
    };
    if let Some(n) = body.attempts_left {
        if !text.contains(&n.to_string()) {
            text.push(' ');
            text.push_str(&attempts_left(n));
        }
    }
    if let Some(secs) = body.retry_after_secs {
        text.push(' ');
        text.push_str(&try_again_in(secs));
    }
    text
}

/// "2 attempts left."
pub fn attempts_left(n: u32) -> String {
    if n == 1 {
        t(Msg::OneAttemptLeft).to_string()
    } else {
        tf(Msg::AttemptsLeft, &[("n", &n.to_string())])
    }
}

/// The key translating a stable API error code, for locales other than English.
fn code_text(code: &str) -> Option<Msg> {
    Some(match code {
        "invalid_credentials" => Msg::ErrInvalidCredentials,
        "account_not_found" => Msg::ErrAccountNotFound,
        "invalid_identifier" => Msg::ErrInvalidIdentifier,
        "rate_limited" | "reset_blocked" | "resend_too_soon" => Msg::ErrRateLimited,
        "invalid_code" => Msg::ErrInvalidCode,
        "code_expired" => Msg::ErrCodeExpired,
        "code_exhausted" => Msg::ErrCodeExhausted,
        "link_expired" => Msg::LinkExpiredHeading,
        "grant_expired" => Msg::ErrGrantExpired,
        "user_deactivated" => Msg::ErrUserDeactivated,
        "password_mismatch" => Msg::ErrPasswordMismatch,
        "wrong_password" => Msg::ErrWrongPassword,
        "forbidden" => Msg::ErrForbidden,
        "unauthenticated" => Msg::ErrUnauthenticated,
        "no_flow" => Msg::ErrNoFlow,
        _ => return None,
    })
}

/// Every string key. Grouped by page; the tables in `en.rs` and `sv.rs` must name each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    // shell
    ProductName,
    MainNav,
    NavMeetings,
    NavChangePassword,
    NavUserManagement,
    UserMenu,
    SignOut,
    SkipToContent,
    Loading,
    PageLoadFailed,
    TryAgain,
    Working,
    Show,
    Hide,
    PasswordSuffix,
    Close,
    Cancel,
    PageNotFound,
    PageNotFoundText,
    GoHome,
    // errors
    ErrNetwork,
    ErrUnexpected,
    ErrInvalidCredentials,
    ErrAccountNotFound,
    ErrInvalidIdentifier,
    ErrRateLimited,
    ErrInvalidCode,
    ErrCodeExpired,
    ErrCodeExhausted,
    ErrGrantExpired,
    ErrUserDeactivated,
    ErrPasswordMismatch,
    ErrWrongPassword,
    ErrForbidden,
    ErrUnauthenticated,
    ErrNoFlow,
    TryAgainInSeconds,
    TryAgainInMinutes,
    AttemptsLeft,
    OneAttemptLeft,
    RequestNewCode,
    // sign in
    SignInHeading,
    Email,
    Password,
    SignInButton,
    ForgotPasswordLink,
    EnterEmail,
    EnterPassword,
    SsoSignIn,
    SsoGoToProvider,
    // reset flow
    StepsLabel,
    StepIdentify,
    StepVerify,
    StepNewPassword,
    StepDone,
    StepCurrent,
    ForgotPasswordHeading,
    ForgotPasswordIntro,
    EmailOrPhone,
    Next,
    EnterIdentifier,
    InvalidIdentifier,
    SsoReset,
    SsoRecoveryLink,
    BackToSignIn,
    VerifyHeading,
    CodeSentTo,
    AnnounceCodeSent,
    VerificationCode,
    EnterCode,
    ResendCode,
    ResendCodeIn,
    AnnounceResendWait,
    AnnounceResendReady,
    SpamTipEmail,
    SpamTipSms,
    UseDifferentIdentifier,
    ChooseNewPasswordHeading,
    ResettingFor,
    NewPassword,
    ConfirmNewPassword,
    Save,
    AnnounceCodeAccepted,
    ResetDoneHeading,
    ResetDoneSignedIn,
    ResetDoneSignIn,
    GoToMeetings,
    SignInLink,
    LinkExpiredHeading,
    LinkExpiredText,
    SendNewCode,
    StartOver,
    // policy
    PolicyHeading,
    RuleMinLength,
    RuleMaxLength,
    RuleLetter,
    RuleDigit,
    RuleUpper,
    RuleLower,
    RulePersonal,
    RuleMatch,
    RuleServerChecks,
    RuleServerChecksHistory,
    RuleMet,
    RuleNotMet,
    StrengthLabel,
    Strength0,
    Strength1,
    Strength2,
    Strength3,
    Strength4,
    StrengthBlocklisted,
    // meetings
    MeetingsHeading,
    NoMeetings,
    Topic,
    Starts,
    MeetingId,
    Duration,
    DurationMinutes,
    TimesShownIn,
    // change password
    ChangePasswordHeading,
    CurrentPassword,
    EnterCurrentPassword,
    PasswordChanged,
    ChoosePasswordIntro,
    // admin
    AdminNav,
    NavRoles,
    NavAudit,
    NavSettings,
    UserManagementHeading,
    SearchUsers,
    SearchUsersHint,
    ColName,
    ColEmail,
    ColPhone,
    ColRole,
    ColSignInMethod,
    ColStatus,
    ColLastSignIn,
    ColActions,
    Never,
    Locked,
    StatusActive,
    StatusDeactivated,
    ChangePasswordAction,
    ChangePasswordFor,
    Unlock,
    UnlockFor,
    SendReset,
    SendResetFor,
    Previous,
    PageOf,
    UsersTotal,
    NoUsers,
    RequireChange,
    PasswordChangedFor,
    UnlockedToast,
    ResetSentToast,
    SortBy,
    RolesHeading,
    RoleName,
    Permissions,
    CreateRole,
    NewRoleHeading,
    Rename,
    Delete,
    DeleteRoleFor,
    EditRoleFor,
    RoleSaved,
    RoleDeleted,
    NoRoles,
    AssignRoleHeading,
    UserEmail,
    Role,
    Assign,
    RoleAssigned,
    UserNotFound,
    BuiltinOwner,
    BuiltinAdmin,
    BuiltinMember,
    PermUsersView,
    PermUsersEdit,
    PermRolesManage,
    PermAuditView,
    PermSettingsEdit,
    AuditHeading,
    FilterUser,
    FilterType,
    Filter,
    ColTime,
    ColType,
    ColActor,
    ColTarget,
    ColIp,
    ColDetail,
    NoEvents,
    SettingsHeading,
    PolicyKind,
    PolicyModern,
    PolicyClassic,
    MinLength,
    MaxLength,
    HistoryDepth,
    SettingsSaved,
    LanguageSwitch,
}
