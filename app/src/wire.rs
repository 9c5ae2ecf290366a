//! Every type that crosses the wire between the SPA and the API: one definition, used by both sides.
//!
//! The server serialises these, the SPA deserialises them; neither writes its own copy. Field names
//! are snake_case JSON. Times are Unix seconds (UTC) so both sides agree without a date library.

use serde::{Deserialize, Serialize};

use crate::policy::PolicyConfig;

/// The JSON body of every error the API returns: a stable machine `error` code the SPA translates,
/// a human `message` in English, and the `field` it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds until the client may try again (rate limits); mirrors the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Wrong-code attempts left before the code dies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// For accounts that sign in with an identity provider: which one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<SignInMethod>,
    /// The provider's own account-recovery page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_url: Option<String>,
    /// Password policy rules that failed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<crate::policy::Violation>,
}

/// How a user signs in. Only `Password` users can reset a password here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    Password,
    Google,
    Apple,
    Facebook,
    Microsoft,
    Saml,
}

impl SignInMethod {
    pub const ALL: [SignInMethod; 6] = [
        Self::Password,
        Self::Google,
        Self::Apple,
        Self::Facebook,
        Self::Microsoft,
        Self::Saml,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Google => "google",
            Self::Apple => "apple",
            Self::Facebook => "facebook",
            Self::Microsoft => "microsoft",
            Self::Saml => "saml",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The name users know the provider by.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Password => "Password",
            Self::Google => "Google",
            Self::Apple => "Apple",
            Self::Facebook => "Facebook",
            Self::Microsoft => "Microsoft",
            Self::Saml => "your company's single sign-on (SSO)",
        }
    }

    /// Where a user of this provider recovers a forgotten password.
    pub fn recovery_url(self) -> Option<&'static str> {
        match self {
            Self::Password | Self::Saml => None,
            Self::Google => Some("https://accounts.google.com/signin/recovery"),
            Self::Apple => Some("https://iforgot.apple.com/"),
            Self::Facebook => Some("https://www.facebook.com/login/identify/"),
            Self::Microsoft => Some("https://account.live.com/password/reset"),
        }
    }
}

/// Built-in roles; custom roles carry their own name and permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BuiltinRole {
    Owner,
    Admin,
    Member,
}

/// Named permissions a custom role can hold.
pub mod permission {
    pub const USERS_VIEW: &str = "users:view";
    pub const USERS_EDIT: &str = "users:edit";
    pub const ROLES_MANAGE: &str = "roles:manage";
    pub const AUDIT_VIEW: &str = "audit:view";
    pub const SETTINGS_EDIT: &str = "settings:edit";
    pub const ALL: [&str; 5] = [
        USERS_VIEW,
        USERS_EDIT,
        ROLES_MANAGE,
        AUDIT_VIEW,
        SETTINGS_EDIT,
    ];
}

// ---------------------------------------------------------------- sessions and the signed-in user

/// `POST /api/session`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
}

/// `GET /api/me`, and the answer to a successful sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// "owner", "admin", "member" or a custom role's name.
    pub role: String,
    pub account_name: String,
    pub time_zone: String,
    /// Set after an administrator chose this user's password: nothing else until it is changed.
    pub must_change_password: bool,
    /// What the user may do, e.g. "users:edit".
    pub permissions: Vec<String>,
}

/// `POST /api/me/password`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// Empty when the change is forced after an administrator set the password (the session proves it).
    #[serde(default)]
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

/// `GET /api/meetings`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meeting {
    /// The 10-11 digit meeting ID users dial.
    pub meeting_id: String,
    pub topic: String,
    /// Unix seconds, UTC.
    pub starts_at: i64,
    pub duration_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingList {
    pub time_zone: String,
    pub meetings: Vec<Meeting>,
}

/// `GET /api/me/policy` and the reset flow: the rules the page shows live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyResponse {
    pub policy: PolicyConfig,
    /// Words the password may not contain (the user's name, email local part, product name),
    /// lower-cased, so the page can check that rule too.
    pub forbidden_words: Vec<String>,
}

/// `POST /api/password/strength`: the server-side estimate shown as guidance (NIST 800-63B-4 asks
/// for it); too heavy to ship in the wasm bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StrengthRequest {
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StrengthResponse {
    /// 0 (very weak) to 4 (very strong).
    pub score: u8,
    /// Set when the password is on the common-password blocklist.
    pub blocklisted: bool,
}

// ---------------------------------------------------------------- self-service reset

/// `POST /api/reset/start`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartResetRequest {
    /// An email address or a phone number, as typed.
    pub identifier: String,
}

/// Where the code went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The name it is stored and logged under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// Which step the flow bound to this browser is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResetStep {
    /// A code was sent; waiting for it.
    Verify,
    /// The code was right; waiting for the new password.
    NewPassword,
    /// The password was reset.
    Done,
}

/// The state of this browser's reset flow: the answer to start, resend, verify and
/// `GET /api/reset/flow` (which lets a refreshed page pick up where it was).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetFlow {
    pub step: ResetStep,
    pub channel: Channel,
    /// "j•••@example.com" or "+46 •• ••• •• 67".
    pub masked_destination: String,
    /// The address codes come from, for the "allow this sender" tip.
    pub sender: String,
    /// Seconds until "Resend code" is allowed (0: now).
    pub resend_after_secs: u64,
    /// Seconds until the current code expires.
    pub code_expires_in_secs: u64,
    pub attempts_left: u32,
    /// The account's password rules, once the code is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyResponse>,
}

/// `POST /api/reset/verify`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyCodeRequest {
    pub code: String,
}

/// `POST /api/reset/link`: the token from an emailed link. Checking it consumes nothing, so mail
/// scanners that open links cannot burn it; the server keeps it in an HttpOnly cookie so the
/// page can drop it from the address bar.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenLinkRequest {
    pub token: String,
}

/// The answer to opening a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkState {
    pub masked_destination: String,
    pub policy: PolicyResponse,
}

/// `POST /api/reset/password`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetPasswordRequest {
    pub new_password: String,
    pub confirm_password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetDone {
    /// True when this browser started the flow and now holds a new session.
    pub signed_in: bool,
}

// ---------------------------------------------------------------- user management

/// A row of `GET /api/admin/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: String,
    pub sign_in_method: SignInMethod,
    /// "active" or "deactivated".
    pub status: String,
    pub locked: bool,
    pub last_sign_in_at: Option<i64>,
    /// What the signed-in administrator may do to this user.
    pub can_change_password: bool,
    pub can_send_reset: bool,
    /// Why the actions are disabled, when they are ("signs in with Google").
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPage {
    pub users: Vec<AdminUser>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// `POST /api/admin/users/{id}/password`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminSetPasswordRequest {
    pub new_password: String,
    pub confirm_password: String,
    /// ASVS 5.0 6.4.6: the administrator should not keep knowing a user's password.
    pub require_change: bool,
}

/// A custom role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
}

/// `POST /api/admin/roles`, `PUT /api/admin/roles/{id}`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleRequest {
    pub name: String,
    pub permissions: Vec<String>,
}

/// `PUT /api/admin/users/{id}/role`: "admin", "member" or a custom role's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignRoleRequest {
    pub role: String,
}

/// A row of `GET /api/admin/audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor_email: Option<String>,
    pub target_email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// `GET /api/admin/settings`, `PUT /api/admin/settings`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountSettings {
    pub policy: PolicyConfig,
}
