//! The last two steps of a password reset, shared by the code flow and the emailed link.

use leptos::prelude::*;

use super::{
    apply_server_error, check_new_password, Alert, AlertKind, NewPasswordFields, PageHeading,
    PasswordErrors, PrimaryButton,
};
use crate::api::{self, ApiResult};
use crate::i18n::{self, t, Msg};
use crate::routes::Page;
use crate::wire::{PolicyResponse, ResetDone, SetPasswordRequest};

/// Step 3: "Choose a new password", with the live checklist, sent to `POST /api/reset/password`.
#[component]
pub fn ChooseNewPassword(
    /// The account's rules.
    #[prop(into)]
    policy: Signal<Option<PolicyResponse>>,
    /// A line under the heading, such as whose account this is.
    #[prop(optional, into)]
    subtitle: Option<String>,
    /// Called with the server's answer once the password is set.
    on_done: Callback<ResetDone>,
    /// Called when the reset grant has expired and the user asks to start again.
    on_restart: Callback<()>,
) -> impl IntoView {
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = PasswordErrors::default();
    let expired = RwSignal::new(false);
    let save = Action::new_local(move |req: &SetPasswordRequest| {
        let req = req.clone();
        async move { api::reset::set_password(&req).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if save.pending().get_untracked() {
            return;
        }
        errors.clear();
        let (n, c) = (new.get_untracked(), confirm.get_untracked());
        if !check_new_password(policy.get_untracked().as_ref(), &n, &c, &errors) {
            return;
        }
        save.dispatch_local(SetPasswordRequest {
            new_password: n,
            confirm_password: c,
        });
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<ResetDone>> = save.value().get() else {
            return;
        };
        match result {
            Ok(done) => on_done.run(done),
            Err(e) if matches!(e.code(), "grant_expired" | "no_flow" | "link_expired") => {
                expired.set(true);
                errors.form.set(Some(i18n::error_text(&e)));
            }
            Err(e) => apply_server_error(&e, &errors),
        }
    });
    view! {
        <PageHeading>{t(Msg::ChooseNewPasswordHeading)}</PageHeading>
        {subtitle.map(|s| view! { <p class="lead">{s}</p> })}
        {move || {
            errors
                .form
                .get()
                .map(|e| {
                    view! {
                        <Alert kind=AlertKind::Error>
                            <p>{e}</p>
                            {expired.get().then(|| view! {
                                <button type="button" class="btn-link" on:click=move |_| on_restart.run(())>
                                    {t(Msg::StartOver)}
                                </button>
                            })}
                        </Alert>
                    }
                })
        }}
        <form class="form" novalidate on:submit=on_submit>
            <NewPasswordFields new=new confirm=confirm errors=errors policy=policy />
            <PrimaryButton label=t(Msg::Save) busy=save.pending() />
        </form>
    }
}

/// Step 4: "Your password has been reset", then on to My Meetings or to sign-in.
#[component]
pub fn ResetComplete(
    /// Whether the reset also signed this browser in.
    #[prop(into)]
    signed_in: Signal<bool>,
) -> impl IntoView {
    view! {
        <PageHeading>{t(Msg::ResetDoneHeading)}</PageHeading>
        {move || {
            if signed_in.get() {
                // One click from My Meetings: its code loads while the user reads this.
                crate::prefetch(Page::Meetings);
                view! {
                    <p>{t(Msg::ResetDoneSignedIn)}</p>
                    <p>
                        <a class="btn btn-primary" href=Page::Meetings.path()>{t(Msg::GoToMeetings)}</a>
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <p>{t(Msg::ResetDoneSignIn)}</p>
                    <p>
                        <a class="btn btn-primary" href=Page::SignIn.path()>{t(Msg::SignInLink)}</a>
                    </p>
                }
                    .into_any()
            }
        }}
    }
}
