//! The "new password" and "confirm" pair used by every page that sets a password.

use leptos::prelude::*;

use super::{unique_id, PasswordField, PolicyChecklist, StrengthMeter};
use crate::api::ApiError;
use crate::i18n::{self, t, Msg};
use crate::policy::{self, Violation};
use crate::wire::PolicyResponse;

/// The error slots of a password form: one per field, and one for the form as a whole.
#[derive(Debug, Clone, Copy)]
pub struct PasswordErrors {
    pub current: RwSignal<Option<String>>,
    pub new: RwSignal<Option<String>>,
    pub confirm: RwSignal<Option<String>>,
    pub form: RwSignal<Option<String>>,
}

impl Default for PasswordErrors {
    fn default() -> Self {
        Self {
            current: RwSignal::new(None),
            new: RwSignal::new(None),
            confirm: RwSignal::new(None),
            form: RwSignal::new(None),
        }
    }
}

impl PasswordErrors {
    pub fn clear(&self) {
        self.current.set(None);
        self.new.set(None);
        self.confirm.set(None);
        self.form.set(None);
    }
}

/// Checks what the page can before sending: the account's rules and that both entries match.
/// Fills `errors` and returns whether the pair may be sent.
pub fn check_new_password(
    policy: Option<&PolicyResponse>,
    new: &str,
    confirm: &str,
    errors: &PasswordErrors,
) -> bool {
    let config = policy.map(|p| p.policy).unwrap_or_default();
    let words = policy
        .map(|p| p.forbidden_words.as_slice())
        .unwrap_or_default();
    let failed = policy::check(&config, new, words);
    if !failed.is_empty() {
        errors.new.set(Some(
            failed
                .iter()
                .map(i18n::violation)
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    let mismatch = policy::normalize(new) != policy::normalize(confirm);
    if mismatch {
        errors
            .confirm
            .set(Some(i18n::violation(&Violation::Mismatch)));
    }
    failed.is_empty() && !mismatch
}

/// Puts a server error on the field it names (`ErrorBody.field`), else on the form.
pub fn apply_server_error(err: &ApiError, errors: &PasswordErrors) {
    let text = i18n::error_text(err);
    let slot = match (err.body.field.as_deref(), err.code()) {
        (Some("current_password"), _) | (None, "wrong_password") => errors.current,
        (Some("new_password"), _) | (None, "password_policy") => errors.new,
        (Some("confirm_password"), _) | (None, "password_mismatch") => errors.confirm,
        _ => errors.form,
    };
    slot.set(Some(text));
}

/// "New password" and "Confirm new password" fields with show/hide toggles, the live policy
/// checklist and the strength meter.
#[component]
pub fn NewPasswordFields(
    /// The new password.
    new: RwSignal<String>,
    /// Its confirmation.
    confirm: RwSignal<String>,
    /// Where the fields' errors go.
    errors: PasswordErrors,
    /// The account's rules, for the checklist.
    #[prop(into)]
    policy: Signal<Option<PolicyResponse>>,
    /// Whether to ask the server for a strength estimate.
    #[prop(default = true)]
    strength: bool,
) -> impl IntoView {
    let checklist_id = unique_id("policy");
    view! {
        <PasswordField
            label=t(Msg::NewPassword)
            value=new
            error=errors.new
            autocomplete="new-password"
            described_by=checklist_id.clone()
        />
        {strength.then(|| view! { <StrengthMeter password=new /> })}
        <PasswordField
            label=t(Msg::ConfirmNewPassword)
            value=confirm
            error=errors.confirm
            autocomplete="new-password"
        />
        <PolicyChecklist id=checklist_id policy=policy password=new confirm=confirm />
    }
}
