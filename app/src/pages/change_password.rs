//! `/profile/password`: the signed-in user changes their own password.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiResult};
use crate::components::{
    apply_server_error, check_new_password, replace, Alert, AlertKind, NewPasswordFields,
    PageHeading, PasswordErrors, PasswordField, PrimaryButton, Shell,
};
use crate::i18n::{t, Msg};
use crate::routes::Page;
use crate::wire::ChangePasswordRequest;

/// "Change password": current, new and confirmation, checked live against the account's policy.
#[component]
pub fn ChangePassword() -> impl IntoView {
    view! {
        <Shell>
            <ChangePasswordForm />
        </Shell>
    }
}

/// The form, with the policy from `GET /api/me/policy`.
#[component]
fn ChangePasswordForm() -> impl IntoView {
    let navigate = use_navigate();
    let policy = LocalResource::new(api::session::my_policy);
    let policy = Signal::derive(move || policy.get().and_then(Result::ok));
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = PasswordErrors::default();
    let saved = RwSignal::new(false);
    let save = Action::new_local(move |req: &ChangePasswordRequest| {
        let req = req.clone();
        async move { api::session::change_password(&req).await }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if save.pending().get_untracked() {
            return;
        }
        errors.clear();
        saved.set(false);
        let (c, n, k) = (
            current.get_untracked(),
            new.get_untracked(),
            confirm.get_untracked(),
        );
        let mut ok = check_new_password(policy.get_untracked().as_ref(), &n, &k, &errors);
        if c.is_empty() {
            errors
                .current
                .set(Some(t(Msg::EnterCurrentPassword).into()));
            ok = false;
        }
        if ok {
            save.dispatch_local(ChangePasswordRequest {
                current_password: c,
                new_password: n,
                confirm_password: k,
            });
        }
    };
    Effect::new(move |_| {
        let Some(result): Option<ApiResult<()>> = save.value().get() else {
            return;
        };
        match result {
            Ok(()) => {
                current.set(String::new());
                new.set(String::new());
                confirm.set(String::new());
                saved.set(true);
            }
            Err(e) if e.is_unauthenticated() => {
                navigate(&Page::sign_in_then(Page::ChangePassword.path()), replace());
            }
            Err(e) => apply_server_error(&e, &errors),
        }
    });
    view! {
        <div class="narrow-block">
            <PageHeading>{t(Msg::ChangePasswordHeading)}</PageHeading>
            {move || saved.get().then(|| view! { <Alert kind=AlertKind::Success><p>{t(Msg::PasswordChanged)}</p></Alert> })}
            {move || errors.form.get().map(|e| view! { <Alert kind=AlertKind::Error><p>{e}</p></Alert> })}
            <form class="form" novalidate on:submit=on_submit>
                <PasswordField label=t(Msg::CurrentPassword) value=current error=errors.current />
                <NewPasswordFields new=new confirm=confirm errors=errors policy=policy />
                <PrimaryButton label=t(Msg::Save) busy=save.pending() />
            </form>
        </div>
    }
}
