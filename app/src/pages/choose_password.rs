//! `/choose_password`: the forced change after an administrator set the user's password
//! (ASVS 5.0 6.4.6: the administrator should not keep knowing it).

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiResult};
use crate::components::{
    apply_server_error, check_new_password, replace, Alert, AlertKind, NewPasswordFields,
    PageHeading, PasswordErrors, PrimaryButton, Session, Shell,
};
use crate::i18n::{t, Msg};
use crate::routes::Page;
use crate::wire::ChangePasswordRequest;

/// "Choose a new password": new and confirmation only; the session proves who the user is.
#[component]
pub fn ChoosePassword() -> impl IntoView {
    view! {
        <Shell forced=true>
            <ChoosePasswordForm />
        </Shell>
    }
}

/// The form; on success the session no longer needs a change and the user goes to My Meetings.
#[component]
fn ChoosePasswordForm() -> impl IntoView {
    let navigate = use_navigate();
    let session = Session::get();
    let policy = LocalResource::new(api::session::my_policy);
    let policy = Signal::derive(move || policy.get().and_then(Result::ok));
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = PasswordErrors::default();
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
        let (n, k) = (new.get_untracked(), confirm.get_untracked());
        if check_new_password(policy.get_untracked().as_ref(), &n, &k, &errors) {
            save.dispatch_local(ChangePasswordRequest {
                current_password: String::new(),
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
                session.0.update(|me| {
                    if let Some(me) = me {
                        me.must_change_password = false;
                    }
                });
                navigate(Page::Meetings.path(), replace());
            }
            Err(e) if e.is_unauthenticated() => {
                navigate(&Page::sign_in_then(Page::ChoosePassword.path()), replace());
            }
            Err(e) => apply_server_error(&e, &errors),
        }
    });
    view! {
        <div class="narrow-block">
            <PageHeading>{t(Msg::ChooseNewPasswordHeading)}</PageHeading>
            <p class="lead">{t(Msg::ChoosePasswordIntro)}</p>
            {move || errors.form.get().map(|e| view! { <Alert kind=AlertKind::Error><p>{e}</p></Alert> })}
            <form class="form" novalidate on:submit=on_submit>
                <NewPasswordFields new=new confirm=confirm errors=errors policy=policy />
                <PrimaryButton label=t(Msg::Save) busy=save.pending() />
            </form>
        </div>
    }
}
